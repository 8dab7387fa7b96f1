/** `daemon --history-max`: the history is shared between uids (issue #19, item 6). */
import assert from "node:assert/strict";
import { assertExit, cli, client, daemon, makeDirs, notifyArgs, show } from "./_helpers.ts";

Deno.test("45 crashes of one user with --history-max=40 leave root's crash in history", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs, ["--history-max=40"]);
  assertExit(await cli(notifyArgs(dirs, "7", "0", "0", "rootcrash", "host")), 0);
  // Four at a time: one user's crashes are held four at once (HELD_PER_UID).
  for (let i = 0; i < 45; i += 4) {
    const batch = Array.from({ length: Math.min(4, 45 - i) }, (_, j) => 1000 + i + j);
    for (
      const r of await Promise.all(
        batch.map((pid) => cli(notifyArgs(dirs, String(pid), "54321", "54321", "flood", "host"))),
      )
    ) assertExit(r, 0);
  }
  const r = await client(dirs, "history", ["--json", "--lines=1000"]);
  assertExit(r, 0);
  const crashes = (JSON.parse(r.stdout) as { crashes: { pid: number; uid: number }[] }).crashes;
  assert.equal(crashes.length, 40, show(r));
  assert.deepEqual(crashes.filter((c) => c.uid === 0).map((c) => c.pid), [7]);
  // The flood lost six of its own oldest: its first batch of four, then two of the next.
  const flood = crashes.filter((c) => c.uid === 54321).map((c) => c.pid);
  assert.equal(flood.length, 39);
  assert.ok(flood.every((pid) => pid >= 1004), flood.join());
  for (let pid = 1008; pid < 1045; pid++) assert.ok(flood.includes(pid), `${pid} kept`);
});
