/**
 * Issue #21, item 1, the mechanism on the real kernel: a process blocked reading a unix
 * socket whose peer is dumping core (as lttng-sessiond waits on a traced program that died
 * in its registration) is answered in the dead peer's place by lib/sys/socket_waits.ts:
 * `/proc/PID/task/TID/syscall`, `pidfd_getfd`, `SO_PEERCRED`, sock_diag and the write into
 * the dead peer's end. The dump is held by a core_pattern helper that never reads it.
 * With LTTng, under load: bench/sessiond_waits.ts.
 */
import assert from "node:assert/strict";
import { endWaitsOnDeadPeer, isDumpingCore } from "../../lib/sys/socket_waits.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildDeadPeer } from "../fixtures/crasher.ts";
import { requirement } from "../fixtures/require.ts";
import { waitFor } from "../fixtures/wait.ts";

/** The lock the core_pattern helper waits on (the kernel runs it: no temporary path). */
const HOLD_LOCK = "/run/lock/lttng-trig-dead-peer.lock";

const ROOT = Deno.uid() === 0 ? undefined : "needs root: core_pattern, and ptrace rights over both";

/** A child whose stdout is read line by line. */
function spawnLines(cmd: string, args: string[]) {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    child,
    /** The next line (bounded); "" at the end of the output. */
    async next(timeoutMs = 10_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!buffered.includes("\n")) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const r = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) =>
            timer = setTimeout(
              () => reject(new Error(`no line from ${cmd} in ${timeoutMs} ms`)),
              Math.max(0, deadline - Date.now()),
            )
          ),
        ]).finally(() => clearTimeout(timer));
        if (r.done) return buffered;
        buffered += r.value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    },
    async stop(): Promise<void> {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test({
  name:
    "a reader blocked on a socket whose peer is dumping core is answered in the peer's place, and only then",
  ignore: requirement(ROOT),
  async fn() {
    const bin = await buildDeadPeer();
    const dir = await Deno.makeTempDir({ prefix: "lt-dp-" });
    const path = `${dir}/s`;
    const waiter = spawnLines(bin, ["wait", path]);
    let crasher: ReturnType<typeof spawnLines> | undefined;
    let hold: Deno.FsFile | undefined;
    try {
      assert.equal(await waiter.next(), "ready");
      // The helper never reads the core: it waits for our lock, and the dump (the crashed
      // process) waits for it. Unlocked at the end, it exits, and so does the dump.
      hold = await Deno.open(HOLD_LOCK, { create: true, write: true });
      await hold.lock(true);
      await using _pattern = await CorePatternGuard.set(`|/usr/bin/flock ${HOLD_LOCK} true`);
      crasher = spawnLines("sh", ["-c", 'ulimit -c unlimited; exec "$0" crash "$1"', bin, path]);
      assert.equal(await crasher.next(), "connected");
      const peer = crasher.child.pid;
      await waitFor(() => Promise.resolve(isDumpingCore(peer)), {
        timeoutMs: 10_000,
        what: `pid ${peer} to dump core`,
      });
      const args = { waiter: waiter.child.pid, comm: "dead_peer", peer };
      // Not said to be dead: nothing is done.
      assert.deepEqual(endWaitsOnDeadPeer({ ...args, isDead: () => false }), { ended: [] });
      // Another name: refused.
      assert.match(
        String(endWaitsOnDeadPeer({ ...args, comm: "lttng-sessiond", isDead: isDumpingCore })),
        /is not lttng-sessiond/,
      );
      const r = endWaitsOnDeadPeer({ ...args, isDead: isDumpingCore });
      assert.ok(typeof r !== "string", String(r));
      assert.equal(r.ended.length, 1, JSON.stringify(r));
      assert.equal(r.ended[0].how, "answer");
      // The waiter got zero bytes, as many as it asked and more, from the dead peer's end.
      const got = (await waiter.next()).split(" ");
      assert.equal(got[0], "got");
      assert.ok(Number(got[1]) >= 600, got.join(" "));
      assert.equal(got[2], got[1]);
      assert.equal((await waiter.child.status).code, 0);
    } finally {
      hold?.close(); // the helper goes on, then exits: the dump ends
      await crasher?.stop();
      await Deno.remove(HOLD_LOCK).catch(() => {});
      await waiter.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
