import assert from "node:assert/strict";
import { type ByteBudget, readCoreFacts } from "../../lib/daemon/elf_core.ts";
import type { ByteReader } from "../../lib/wire/frame.ts";

const enc = new TextEncoder();

function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const n = enc.encode(`${name}\0`);
  const size = 12 + ((n.length + 3) & ~3) + ((desc.length + 3) & ~3);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, n.length, true);
  v.setUint32(4, desc.length, true);
  v.setUint32(8, type, true);
  out.set(n, 12);
  out.set(desc, 12 + ((n.length + 3) & ~3));
  return out;
}

function prpsinfo(o: { pid: number; uid: number; gid: number; fname: string; args: string }) {
  const d = new Uint8Array(136);
  const v = new DataView(d.buffer);
  v.setUint32(16, o.uid, true);
  v.setUint32(20, o.gid, true);
  v.setInt32(24, o.pid, true);
  v.setInt32(28, 1, true);
  d.set(enc.encode(o.fname).subarray(0, 15), 40);
  d.set(enc.encode(o.args).subarray(0, 79), 56);
  return note("CORE", 3, d);
}

function siginfo(signo: number) {
  const d = new Uint8Array(128);
  new DataView(d.buffer).setInt32(0, signo, true);
  return note("CORE", 0x53494749, d);
}

/** A core as Linux writes it: ELF header, PT_NOTE then a PT_LOAD, the notes, memory. */
function core(notes: Uint8Array[], memory = 4096): Uint8Array {
  const notesBytes = new Uint8Array(notes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of notes) {
    notesBytes.set(b, at);
    at += b.length;
  }
  const phoff = 64;
  const notesOff = phoff + 2 * 56;
  const out = new Uint8Array(notesOff + notesBytes.length + memory);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 4, true); // ET_CORE
  v.setUint16(18, 62, true); // EM_X86_64
  v.setBigUint64(32, BigInt(phoff), true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 2, true);
  v.setUint32(phoff, 4, true); // PT_NOTE
  v.setBigUint64(phoff + 8, BigInt(notesOff), true);
  v.setBigUint64(phoff + 32, BigInt(notesBytes.length), true);
  v.setUint32(phoff + 56, 1, true); // PT_LOAD
  out.set(notesBytes, notesOff);
  return out;
}

function reader(bytes: Uint8Array, size = 1 << 20): ByteReader & { consumed(): number } {
  let pos = 0;
  return {
    read(p: Uint8Array) {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(size, p.length, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    consumed: () => pos,
  };
}

const SAMPLE = core([
  note("CORE", 1, new Uint8Array(336)),
  prpsinfo({ pid: 4242, uid: 1000, gid: 100, fname: "crasher", args: "/usr/bin/crasher 31337 " }),
  siginfo(11),
]);

function budget(bytes: number): ByteBudget & { left(): number } {
  let left = bytes;
  return {
    take(n) {
      if (n > left) return false;
      left -= n;
      return true;
    },
    give(n) {
      left += n;
    },
    left: () => left,
  };
}

const FACTS = {
  pid: 4242,
  ppid: 1,
  uid: 1000,
  gid: 100,
  execName: "crasher",
  args: ["/usr/bin/crasher", "31337"],
  signal: 11,
};
const HEAD = SAMPLE.length - 4096;

Deno.test("readCoreFacts() buffers the head within the budget and takes exactly its size", async () => {
  const b = budget(HEAD);
  const { facts, head } = await readCoreFacts(reader(SAMPLE, 7), { budget: b });
  assert.deepEqual(facts, FACTS);
  assert.equal(head?.byteLength, HEAD);
  assert.equal(b.left(), 64, "the ELF header is outside the budget");
});

Deno.test("readCoreFacts() past the budget streams the notes: the facts, no head, nothing taken", async () => {
  // A large note that is not kept (NT_FILE), before the ones that tell the facts.
  const big = core([
    note("CORE", 0x46494c45, new Uint8Array(200_000)),
    note("CORE", 1, new Uint8Array(336)),
    prpsinfo({ pid: 4242, uid: 1000, gid: 100, fname: "crasher", args: "/usr/bin/crasher 31337" }),
    siginfo(11),
  ]);
  for (const left of [0, 64, 64 + 56, 1000, HEAD]) {
    for (const chunk of [7, 1 << 20]) {
      const b = budget(left);
      const r = reader(big, chunk);
      const { facts, head } = await readCoreFacts(r, { budget: b });
      assert.deepEqual(facts, FACTS);
      assert.equal(head, undefined);
      assert.equal(b.left(), left, "the budget is given back whole");
      assert.equal(r.consumed(), big.length - 4096, "it reads to the end of the notes only");
    }
  }
});

Deno.test("readCoreFacts() gives the budget back when it refuses a core", async () => {
  const b = budget(1 << 20);
  await assert.rejects(readCoreFacts(reader(SAMPLE.subarray(0, 100)), { budget: b }), RangeError);
  assert.equal(b.left(), 1 << 20);
  const streamed = budget(100);
  await assert.rejects(
    readCoreFacts(reader(SAMPLE.subarray(0, HEAD - 10)), { budget: streamed }),
    RangeError,
  );
  assert.equal(streamed.left(), 100);
});
