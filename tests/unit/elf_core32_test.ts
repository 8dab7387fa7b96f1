import assert from "node:assert/strict";
import fc from "fast-check";
import { type ByteBudget, readCoreFacts } from "../../lib/daemon/elf_core.ts";
import {
  budget,
  core,
  core32,
  note,
  prpsinfo32,
  prstatus32,
  reader,
  SAMPLE32,
  siginfo,
} from "../fixtures/elf_core.ts";

const UNKNOWN = 0xffff_ffff;
const HEAD32 = SAMPLE32.length - 4096;
const FACTS32 = {
  pid: 4242,
  ppid: 1,
  uid: 1000,
  gid: 100,
  execName: "crasher32",
  args: ["/usr/bin/crasher32", "31337"],
  signal: 11,
  tid: 4243,
};

Deno.test("readCoreFacts() reads a 32-bit core's pid, uid, gid, exec name, arguments, signal and tid", async () => {
  for (const chunk of [1, 7, 1 << 20]) {
    const r = reader(SAMPLE32, chunk);
    const { facts, head } = await readCoreFacts(r);
    assert.deepEqual(facts, FACTS32);
    assert.equal(r.consumed(), HEAD32, "it reads up to the end of the notes and no further");
    assert.deepEqual(head, SAMPLE32.subarray(0, HEAD32));
  }
});

Deno.test("readCoreFacts() reads the compat notes of i386, x32 and arm cores alike", async () => {
  const notes = [
    prstatus32(77, 6, 148), // arm's compat_elf_prstatus: 18 registers
    prpsinfo32({ pid: 76, uid: 0, gid: 0, fname: "armprog", args: "armprog -v" }),
  ];
  for (const machine of [3, 40, 62]) {
    const { facts } = await readCoreFacts(reader(core32(notes, { machine })));
    assert.deepEqual(facts, {
      pid: 76,
      ppid: 1,
      uid: 0,
      gid: 0,
      execName: "armprog",
      args: ["armprog", "-v"],
      signal: 6,
      tid: 77,
    }, `e_machine ${machine}`);
  }
});

Deno.test("readCoreFacts() takes a 32-bit core's 16-bit id 0xffff as unknown", async () => {
  const ids = async (uid: number, gid: number) => {
    const c = core32([prpsinfo32({ pid: 5, uid, gid, fname: "x", args: "x" })]);
    const { facts } = await readCoreFacts(reader(c));
    assert.equal(facts.note, undefined);
    return [facts.uid, facts.gid];
  };
  assert.deepEqual(await ids(0xffff, 100), [UNKNOWN, 100]);
  assert.deepEqual(await ids(1000, 0xffff), [1000, UNKNOWN]);
  // overflowuid (65534, what the kernel writes for an id past 16 bits) is also nobody's uid.
  assert.deepEqual(await ids(65534, 65534), [65534, 65534]);
});

Deno.test("readCoreFacts() past the budget streams a 32-bit core's notes: the facts, no head", async () => {
  const big = core32([
    note("CORE", 0x46494c45, new Uint8Array(200_000)),
    prstatus32(4243, 11),
    prpsinfo32({
      pid: 4242,
      uid: 1000,
      gid: 100,
      fname: "crasher32",
      args: "/usr/bin/crasher32 31337",
    }),
    siginfo(11),
  ]);
  const withinHead = budget(HEAD32);
  const r32 = await readCoreFacts(reader(SAMPLE32, 5), { budget: withinHead });
  assert.deepEqual(r32.facts, FACTS32);
  assert.equal(r32.head?.byteLength, HEAD32);
  assert.equal(withinHead.left(), 64, "the first 64 bytes are outside the budget");
  for (const left of [0, 10, 20, 52 + 32 - 64, 1000]) {
    for (const chunk of [1, 7, 1 << 20]) {
      const b = budget(left);
      const r = reader(big, chunk);
      const { facts, head } = await readCoreFacts(r, { budget: b });
      assert.deepEqual(facts, FACTS32, `budget ${left}, chunk ${chunk}`);
      assert.equal(head, undefined);
      assert.equal(b.left(), left, "the budget is given back whole");
      assert.equal(r.consumed(), big.length - 4096, "it reads to the end of the notes only");
    }
  }
});

Deno.test("readCoreFacts() records a big-endian core with a note, reading only its first 64 bytes", async () => {
  for (const [c, bits] of [[core32([], { bigEndian: true }), 32], [bigEndian64(), 64]] as const) {
    const b = budget(1000);
    const r = reader(c, 7);
    const { facts, head } = await readCoreFacts(r, { budget: b });
    assert.deepEqual(facts, {
      pid: 0,
      ppid: 0,
      uid: UNKNOWN,
      gid: UNKNOWN,
      execName: "",
      args: [],
      note: `big-endian ${bits}-bit core: its facts are not parsed`,
    });
    assert.equal(r.consumed(), 64);
    assert.deepEqual(head, c.subarray(0, 64), "the core can still be kept whole");
    assert.equal(b.left(), 1000, "nothing taken from the budget");
  }
});

/** A 64-bit big-endian core header (e_type ET_CORE, big-endian), then zeros. */
function bigEndian64(): Uint8Array {
  const c = new Uint8Array(4096);
  c.set([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]);
  new DataView(c.buffer).setUint16(16, 4, false);
  return c;
}

Deno.test("readCoreFacts() records a core whose NT_PRPSINFO is missing or not known, with a note", async () => {
  // A machine whose compat uid is not known to be 16-bit: signal and tid, no pid.
  const riscv = await readCoreFacts(reader(core32(
    [prstatus32(9, 11), prpsinfo32({ pid: 8, uid: 1, gid: 1, fname: "rv", args: "rv" })],
    { machine: 243 },
  )));
  assert.equal(riscv.facts.pid, 0);
  assert.equal(riscv.facts.uid, UNKNOWN);
  assert.equal(riscv.facts.gid, UNKNOWN);
  assert.equal(riscv.facts.signal, 11);
  assert.equal(riscv.facts.tid, 9);
  assert.match(riscv.facts.note!, /^32-bit core of machine 243: /);
  assert.ok(riscv.head !== undefined);
  // NT_PRPSINFO too short for its class, or absent (32 and 64 bits).
  const short = core32([prstatus32(9, 11), note("CORE", 3, new Uint8Array(100))]);
  const none64 = core([note("CORE", 1, new Uint8Array(336)), siginfo(6)]);
  for (const [c, size] of [[short, 124], [none64, 136]] as const) {
    const { facts } = await readCoreFacts(reader(c));
    assert.equal(facts.uid, UNKNOWN);
    assert.equal(facts.pid, 0);
    assert.equal(
      facts.note,
      `no NT_PRPSINFO note of ${size} bytes: its pid, uid, gid and name are not known`,
    );
  }
});

Deno.test("readCoreFacts() still refuses what is not an ELF core, and truncated 32-bit cores", async () => {
  const cases: [string, (b: Uint8Array) => void][] = [
    ["no ELF magic", (b) => b[1] = 0x46],
    ["ELFCLASSNONE", (b) => b[4] = 0],
    ["ELF class 3", (b) => b[4] = 3],
    ["ELFDATANONE", (b) => b[5] = 0],
    ["not ET_CORE", (b) => b[16] = 2],
    ["big-endian, not ET_CORE", (b) => b[5] = 2],
    ["bad e_phentsize", (b) => b[42] = 56],
    ["no program headers", (b) => b[44] = 0],
    ["program headers inside the ELF header", (b) => b[28] = 40],
    ["no PT_NOTE", (b) => b[52] = 1],
  ];
  for (const [what, spoil] of cases) {
    const b = SAMPLE32.slice();
    spoil(b);
    await assert.rejects(readCoreFacts(reader(b)), (e) => e instanceof SyntaxError, what);
  }
  for (const cut of [0, 1, 51, 52, 63, 64, 100, 116, HEAD32 - 1]) {
    for (const left of [undefined, 0]) {
      const b = budget(left ?? 1 << 20);
      await assert.rejects(
        readCoreFacts(reader(SAMPLE32.subarray(0, cut)), left === undefined ? {} : { budget: b }),
        (e) => e instanceof RangeError,
        `cut at ${cut}`,
      );
      assert.equal(b.left(), left ?? 1 << 20, "the budget is given back");
    }
  }
  const b = SAMPLE32.slice();
  new DataView(b.buffer).setUint32(52 + 16, 1 << 30, true); // p_filesz past 16 MiB
  await assert.rejects(readCoreFacts(reader(b)), RangeError);
});

Deno.test("readCoreFacts() on any bytes after a valid 32-bit header fails only with RangeError or SyntaxError, within the budget", async () => {
  const header = SAMPLE32.subarray(0, 52);
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 700 }),
      fc.option(fc.nat({ max: HEAD32 + 200 }), { nil: undefined }),
      fc.oneof(fc.constant(-1), fc.nat({ max: HEAD32 })),
      fc.integer({ min: 1, max: 64 }),
      async (noise, left, at, chunk) => {
        // Noise after the header, or over a valid core from `at` on.
        let b: Uint8Array;
        if (at < 0) {
          b = new Uint8Array(52 + noise.length);
          b.set(header);
          b.set(noise, 52);
        } else {
          b = SAMPLE32.slice();
          b.set(noise.subarray(0, Math.max(0, b.length - 52 - at)), 52 + at);
        }
        const total = left ?? Infinity;
        let taken = 0;
        let most = 0;
        const tracked: ByteBudget = {
          take(n) {
            if (taken + n > total) return false;
            taken += n;
            most = Math.max(most, taken);
            return true;
          },
          give(n) {
            taken -= n;
            assert.ok(taken >= 0, "gave back more than it took");
          },
        };
        const r = reader(b, chunk);
        try {
          const { facts, head } = await readCoreFacts(r, { budget: tracked });
          assert.equal(typeof facts.pid, "number");
          if (head === undefined) {
            assert.equal(taken, 0, "no head: the budget is given back whole");
          } else {
            assert.equal(taken, head.byteLength - 64, "the head is what was taken");
            assert.equal(head.byteLength, r.consumed(), "every byte read is in the head");
          }
        } catch (e) {
          if (!(e instanceof RangeError || e instanceof SyntaxError)) throw e;
          assert.equal(taken, 0, "a refused core gives the budget back");
        }
        assert.ok(most <= total, "never past the budget");
      },
    ),
    { numRuns: 500 },
  );
});
