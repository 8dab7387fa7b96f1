import assert from "node:assert/strict";
import { selfDumpProtection } from "../../lib/daemon/dumpable.ts";

Deno.test("selfDumpProtection: prctl makes the daemon non-dumpable", () => {
  let calls = 0;
  const p = selfDumpProtection({
    setNotDumpable: () => {
      calls++;
      return true;
    },
  });
  assert.deepEqual(p, { protected: true, reason: "non-dumpable: prctl(PR_SET_DUMPABLE, 0)" });
  assert.equal(calls, 1);
});

Deno.test("selfDumpProtection: without prctl the daemon is said to be unprotected, and why", () => {
  const cases: [Parameters<typeof selfDumpProtection>[0], RegExp][] = [
    [{ setNotDumpable: () => false }, /prctl\(PR_SET_DUMPABLE, 0\) did not take/],
    [{
      setNotDumpable: () => {
        throw new Error("no prctl");
      },
    }, /prctl: no prctl/],
    ["libc cannot be loaded (nowhere)", /libc cannot be loaded \(nowhere\)/],
  ];
  for (const [lib, why] of cases) {
    const p = selfDumpProtection(lib);
    assert.equal(p.protected, false);
    assert.match(p.reason, why);
    assert.match(p.reason, /would dump core into its own socket/);
  }
});
