import assert from "node:assert/strict";
import { Daemon } from "../../lib/daemon/daemon.ts";
import { ControlClient } from "../../lib/client/client.ts";
import { COREDUMP_SOCKET_NAME } from "../../lib/core/paths.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("Daemon binds no coredump socket when prctl(PR_SET_DUMPABLE, 0) failed, and says why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-selfdump-" });
  const log: string[] = [];
  try {
    for (const [setNotDumpable, bound] of [[() => false, false], [() => true, true]] as const) {
      await using daemon = await Daemon.start({
        runDir: `${dir}/run`,
        stateDir: `${dir}/state`,
        coredumpSocket: true,
        lttngCtl: "command",
        dumpable: { setNotDumpable },
        log: (line) => log.push(line),
      });
      const status = await new ControlClient(daemon.controlSocketPath).status();
      assert.equal(await exists(`${dir}/run/${COREDUMP_SOCKET_NAME}`), bound);
      assert.equal(status.coredumpSocket, bound ? daemon.coredumpSocketPath : null);
      assert.equal(status.selfDump?.protected, bound);
      if (!bound) {
        assert.match(status.selfDump!.reason, /dumpable .*: .*coredump socket is not bound/);
        assert.ok(log.some((l) => /^coredump socket not bound: the daemon is dumpable/.test(l)));
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
