import assert from "node:assert/strict";
import { readCoreFacts } from "../../lib/daemon/elf_core.ts";
import { budget, core, note, prpsinfo, reader, SAMPLE, siginfo } from "../fixtures/elf_core.ts";

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
