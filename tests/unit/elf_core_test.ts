import assert from "node:assert/strict";
import fc from "fast-check";
import { parseNotes, readCoreFacts } from "../../lib/daemon/elf_core.ts";
import { concat, core, note, prpsinfo, reader, SAMPLE, siginfo } from "../fixtures/elf_core.ts";

Deno.test("readCoreFacts() reads pid, uid, gid, exec name, arguments and signal from the notes", async () => {
  const r = reader(SAMPLE, 7);
  const { facts, head } = await readCoreFacts(r);
  assert.deepEqual(facts, {
    pid: 4242,
    ppid: 1,
    uid: 1000,
    gid: 100,
    execName: "crasher",
    args: ["/usr/bin/crasher", "31337"],
    signal: 11,
  });
  // It reads up to the end of the notes and no further: the memory stays in the stream.
  assert.equal(r.consumed(), SAMPLE.length - 4096);
  assert.deepEqual(head, SAMPLE.subarray(0, SAMPLE.length - 4096));
});

Deno.test("readCoreFacts() refuses what is not an ELF core, or a malformed 64-bit one", async () => {
  const cases: [string, (b: Uint8Array) => void][] = [
    ["no ELF magic", (b) => b[0] = 0],
    ["ELFCLASSNONE", (b) => b[4] = 0],
    ["ELFDATANONE", (b) => b[5] = 0],
    ["big-endian, not ET_CORE", (b) => b[5] = 2],
    ["32-bit, program headers inside the ELF header", (b) => b[4] = 1],
    ["not ET_CORE", (b) => b[16] = 2],
    ["bad e_phentsize", (b) => b[54] = 32],
    ["no program headers", (b) => b[56] = 0],
    ["no PT_NOTE", (b) => b[64] = 1],
  ];
  for (const [what, spoil] of cases) {
    const b = SAMPLE.slice();
    spoil(b);
    await assert.rejects(readCoreFacts(reader(b)), (e) => e instanceof SyntaxError, what);
  }
});

Deno.test("readCoreFacts() refuses a core truncated anywhere before the end of its notes", async () => {
  const notesEnd = SAMPLE.length - 4096;
  for (const cut of [0, 1, 63, 64, 100, 176, notesEnd - 1]) {
    await assert.rejects(
      readCoreFacts(reader(SAMPLE.subarray(0, cut))),
      (e) => e instanceof RangeError,
      `cut at ${cut}`,
    );
  }
});

Deno.test("readCoreFacts() refuses notes that lie about their place or size", async () => {
  const b = SAMPLE.slice();
  const v = new DataView(b.buffer);
  v.setBigUint64(64 + 32, 1n << 40n, true);
  await assert.rejects(readCoreFacts(reader(b)), RangeError, "p_filesz of 1 TiB");
  v.setBigUint64(64 + 32, 10n, true);
  v.setBigUint64(64 + 8, 8n, true); // inside the ELF header
  await assert.rejects(readCoreFacts(reader(b)), RangeError, "p_offset inside the ELF header");
});

Deno.test("parseNotes() refuses a note whose size runs past the segment, and notes without NT_PRPSINFO", () => {
  const n = note("CORE", 3, new Uint8Array(136));
  new DataView(n.buffer).setUint32(4, 100_000, true);
  assert.throws(() => parseNotes(n), RangeError);
  assert.throws(() => parseNotes(siginfo(6)), SyntaxError);
});

Deno.test("readCoreFacts() only ever fails with RangeError or SyntaxError on arbitrary bytes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 600 }),
      fc.nat({ max: SAMPLE.length }),
      fc.integer({ min: 1, max: 64 }),
      async (noise, at, chunk) => {
        const b = SAMPLE.slice();
        b.set(noise.subarray(0, Math.max(0, b.length - at)), at);
        try {
          await readCoreFacts(reader(b, chunk));
        } catch (e) {
          if (!(e instanceof RangeError || e instanceof SyntaxError)) throw e;
        }
      },
    ),
    { numRuns: 300 },
  );
});

/** NT_PRSTATUS of x86-64 (336 bytes) or arm64 (392 bytes): signal at 0, pr_pid at 32. */
function prstatus(tid: number, signo: number, size = 336) {
  const d = new Uint8Array(size);
  const v = new DataView(d.buffer);
  v.setInt32(0, signo, true);
  v.setInt16(12, signo, true); // pr_cursig
  v.setInt32(32, tid, true);
  v.setInt32(36, 1, true); // pr_ppid
  return note("CORE", 1, d);
}

Deno.test("parseNotes() takes the crashing thread's tid from the first NT_PRSTATUS note", () => {
  const info = prpsinfo({ pid: 4242, uid: 0, gid: 0, fname: "mt", args: "mt" });
  // The kernel writes the thread that took the signal first, then the others.
  for (const size of [336, 392]) {
    const facts = parseNotes(
      core([prstatus(4243, 11, size), info, prstatus(4242, 0, size)]).subarray(176, -4096),
    );
    assert.equal(facts.tid, 4243, `NT_PRSTATUS of ${size} bytes`);
    assert.equal(facts.pid, 4242);
    assert.equal(facts.signal, 11);
  }
});

Deno.test("parseNotes() gives no tid when NT_PRSTATUS is absent, too short or has no pid", () => {
  const info = prpsinfo({ pid: 7, uid: 0, gid: 0, fname: "x", args: "x" });
  assert.equal(parseNotes(info).tid, undefined);
  assert.equal(parseNotes(concat(note("CORE", 1, new Uint8Array(32)), info)).tid, undefined);
  assert.equal(parseNotes(concat(prstatus(0, 11), info)).tid, undefined);
  assert.equal(parseNotes(concat(prstatus(9, 11), info)).tid, 9);
});
