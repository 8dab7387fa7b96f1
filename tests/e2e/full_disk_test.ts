/**
 * A full disk, for real: the root daemon's state directory on a small tmpfs that is
 * filled up, a real lttng-sessiond, and a traced program crash-looping through
 * core_pattern into bin/lttng-trig's notifier. The store cannot record the crashes, so
 * the daemon decides without it, by the same policy: a `--cooldown=1m` trigger acts on
 * the first crash only, and every crash is released promptly. The tmpfs is unmounted in
 * every path (after the daemon, which keeps the store open, has stopped).
 */
import assert from "node:assert/strict";
import { requirement } from "../fixtures/require.ts";
import { trig } from "../fixtures/launcher.ts";
import { e2eUnavailable, serveCrashes } from "../fixtures/root_daemon.ts";
import { SessionDaemon, snapshotDirs, SnapshotSession } from "../fixtures/lttng.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { commandOutput } from "../fixtures/process.ts";
import { waitFor } from "../fixtures/wait.ts";

/** A crash released by its reply, not by the notifier's 10 s deadline. */
const PROMPT_MS = 5000;
const LOOP = 6;

const skip = await e2eUnavailable();
if (skip !== undefined) console.error(`e2e full disk: skipped: ${skip}`);

/** A small tmpfs mounted on a new directory; unmounted and removed on dispose. */
class SmallTmpfs implements AsyncDisposable {
  readonly path: string;
  #onSignal: () => void;

  private constructor(path: string) {
    this.path = path;
    // Interrupted (the core_pattern guard then exits): detach it, busy or not.
    this.#onSignal = () => {
      try {
        new Deno.Command("umount", { args: ["-l", path], stdout: "null", stderr: "null" })
          .outputSync();
        Deno.removeSync(path, { recursive: true });
      } catch { /* exiting anyway */ }
    };
    Deno.addSignalListener("SIGINT", this.#onSignal);
    Deno.addSignalListener("SIGTERM", this.#onSignal);
  }

  static async mount(size: string): Promise<SmallTmpfs> {
    const path = await Deno.makeTempDir({ prefix: "lttng-trig-fulldisk-" });
    try {
      await commandOutput("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", path]);
    } catch (err) {
      await Deno.remove(path);
      throw err;
    }
    return new SmallTmpfs(path);
  }

  /** Write a file until the filesystem has no byte left. */
  async fill(): Promise<void> {
    using f = await Deno.open(`${this.path}/filler`, { write: true, create: true });
    for (const size of [1 << 16, 4096, 1]) {
      const chunk = new Uint8Array(size).fill(0x55);
      try {
        for (;;) await f.write(chunk);
      } catch (err) {
        if (!/No space left on device|os error 28/.test(String(err))) throw err;
      }
    }
  }

  /** Give the space back. */
  async free(): Promise<void> {
    await Deno.remove(`${this.path}/filler`).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    Deno.removeSignalListener("SIGINT", this.#onSignal);
    Deno.removeSignalListener("SIGTERM", this.#onSignal);
    let lastErr: unknown;
    for (let i = 0; i < 20; i++) {
      try {
        await commandOutput("umount", [this.path]);
        await Deno.remove(this.path, { recursive: true });
        return;
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    // Still busy: detach it, so that it goes as soon as its last user does.
    await commandOutput("umount", ["-l", this.path]).catch(() => {});
    await Deno.remove(this.path, { recursive: true }).catch(() => {});
    throw new Error(`could not unmount ${this.path}: ${lastErr}`);
  }
}

Deno.test({
  name: "end to end: a crash loop under --cooldown on a full disk is acted on once",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-fulldisk-out-" });
    await Deno.chmod(work, 0o755);
    try {
      // Declared first, disposed last: unmounted once the daemon has stopped.
      await using disk = await SmallTmpfs.mount("2m");
      await using served = await serveCrashes(`${disk.path}/state`);
      const { root, journal } = served;
      const output = `${work}/out`;
      await using session = await SnapshotSession.create({ buffers: "uid", output });
      await trig(
        "set",
        "-s",
        session.name,
        "-n",
        "full",
        "--cooldown=1m",
        "OnAnyCoreDump",
        "snapshot",
      );
      try {
        await disk.fill();
        const started = performance.now();
        const runs = [];
        // As a supervisor restarts it: the next run starts when the previous one is gone.
        for (let i = 0; i < LOOP; i++) {
          const run = await crash();
          journal.own(run.pid);
          runs.push(run);
        }
        const loopMs = performance.now() - started;
        console.log(
          `full disk: ${LOOP} crashes in ${Math.round(loopMs)} ms, held ${
            runs.map((r) => Math.round(r.releaseMs)).join(", ")
          } ms`,
        );
        // Past the cooldown, a second action would be right: the test would prove nothing.
        assert.ok(loopMs < 60_000, `the loop took ${Math.round(loopMs)} ms, over the cooldown`);
        for (const r of runs) {
          assert.equal(r.signal, "SIGSEGV", `pid ${r.pid}`);
          assert.ok(r.releaseMs < PROMPT_MS, `pid ${r.pid} was held ${Math.round(r.releaseMs)} ms`);
        }
        // The store refused every crash: the daemon decided without it.
        await waitFor(
          () => {
            const n = root.daemon.log.match(/the crash is acted on but not recorded/g)?.length ?? 0;
            return n >= LOOP ? true : undefined;
          },
          { what: "the daemon's store failures", timeoutMs: 10_000 },
        );
        const dirs = await snapshotDirs(output);
        assert.equal(dirs.length, 1, `snapshots: ${dirs.join(", ")}\n${root.daemon.log}`);
        assert.ok(dirs[0].startsWith(`core-crasher-${runs[0].pid}-`), dirs[0]);
        assert.equal(root.daemon.status, undefined, root.daemon.log);
      } finally {
        await disk.free();
        await trig("remove", "full");
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
