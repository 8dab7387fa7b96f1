/**
 * Measurement 2: the notifier's own cost (wall time, peak RSS) as the kernel runs it,
 * against a bare `deno run`, and where that time goes: each variant changes one thing in
 * how the same code is started (launcher or not, `--cached-only`, the config, the module
 * graph, the daemon's reply).
 *
 * @module
 */
import { NOTIFY_SOCKET_NAME } from "../lib/core/paths.ts";
import { commandOutput } from "../tests/fixtures/process.ts";
import {
  BENCH_DIR,
  type BenchContext,
  DENO,
  LAUNCHER,
  ROOT,
  startRootDaemon,
  stopRootDaemon,
} from "./run.ts";
import { rusage, WITH_PIDFD } from "./process_timing.ts";
import { permissionFlags } from "./project.ts";
import { serveStub } from "./stub_server.ts";
import { LTTNG_CTL_DEFAULT } from "./crash.ts";

/** Keys of the variants, for the report. */
export type NotifyKey =
  | "floor"
  | "launcher"
  | "direct"
  | "uncached"
  | "config-floor"
  | "entry"
  | "bundle"
  | "stub"
  | "facts"
  | "pidfd"
  | "user";

/** One way of starting the notifier (or the floor), and its runs. */
export interface NotifyVariant {
  key: NotifyKey;
  label: string;
  cmd: string[];
  env: Record<string, string>;
  wall: number[];
  rss: number[];
  failures: string[];
}

/** The results of measurement 2. */
export interface NotifyPhase {
  variants: NotifyVariant[];
  notes: string[];
}

/** Run measurement 2. */
export async function measureNotify(ctx: BenchContext): Promise<NotifyPhase> {
  const { opts, work, budget } = ctx;
  const notes: string[] = [];
  const dir = `${work}/notify`;
  await Deno.mkdir(dir, { mode: 0o700 });
  const stubRun = `${dir}/stub-run`;
  await Deno.mkdir(stubRun, { mode: 0o700 });
  const entry = `${BENCH_DIR}/notify_entry.ts`;
  const empty = `${BENCH_DIR}/empty.ts`;
  const bundle = `${dir}/notify_bundle.js`;
  await commandOutput(DENO, [
    "bundle",
    "--quiet",
    "--config",
    `${ROOT}/deno.json`,
    "-o",
    bundle,
    entry,
  ], { cwd: ROOT }).catch((err) => {
    throw new Error(
      `Cannot bundle ${entry} for the "bundle" variant: ${(err as Error).message}`,
    );
  });

  // The bench's own entries get a Deno cache of their own, so that the project's stays as
  // setup.sh left it; the launcher and main.ts use the project's, as in production.
  const projectEnv = {
    DENO_DIR: `${ROOT}/.tools/deno-dir`,
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LTTNG_TRIG_EXE: LAUNCHER,
  };
  const tmpEnv = { ...projectEnv, DENO_DIR: `${dir}/deno-dir` };
  const words = ["4000000", "0", "0", "bench-notify", "benchhost"];
  const run = ["run", "--quiet", "--no-prompt", "--cached-only"];
  const config = ["--config", `${ROOT}/deno.json`, "-P=lttng-trig"];
  const perms = await permissionFlags();
  const main = `${ROOT}/main.ts`;
  const v = (
    key: NotifyKey,
    label: string,
    cmd: string[],
    env: Record<string, string>,
  ): NotifyVariant => ({ key, label, cmd, env, wall: [], rss: [], failures: [] });
  const variants: NotifyVariant[] = [
    v("floor", "bare `deno run` of an empty script (the floor)", [DENO, ...run, empty], tmpEnv),
    v(
      "launcher",
      "**`bin/lttng-trig notify`**, as the kernel runs it (empty env, cwd /)",
      [LAUNCHER, "notify", ...words],
      {},
    ),
    v(
      "user",
      "`bin/lttng-trig notify` of a user's crash (uid 65534: a held slot, its owner in /etc/subuid, its home)",
      [LAUNCHER, "notify", "4000001", "65534", "65534", "bench-notify", "benchhost"],
      {},
    ),
    v(
      "direct",
      "the launcher's `deno run` without the sh launcher",
      [DENO, ...run, ...config, main, "notify", ...words],
      projectEnv,
    ),
    v(
      "uncached",
      "same, without `--cached-only`",
      [DENO, "run", "--quiet", "--no-prompt", ...config, main, "notify", ...words],
      projectEnv,
    ),
    v(
      "config-floor",
      "empty script with `--config deno.json -P=lttng-trig`",
      [DENO, ...run, ...config, empty],
      projectEnv,
    ),
    v(
      "entry",
      "notify-only entry `bench/notify_entry.ts` (no main.ts, no cli.ts)",
      [DENO, ...run, ...config, entry, ...words],
      tmpEnv,
    ),
    v(
      "bundle",
      "notify-only entry bundled (`deno bundle`), `--no-config`, same permissions",
      [DENO, ...run, "--no-config", ...perms, bundle, ...words],
      tmpEnv,
    ),
    v(
      "stub",
      "`deno run main.ts notify` to a stub daemon that replies at once (no store)",
      [DENO, ...run, ...config, main, "notify", `--run-dir=${stubRun}`, ...words],
      projectEnv,
    ),
    // The same helper starts both, with fd 3 a pidfd of the notifier itself and %p its
    // pid: the difference is what %F costs (lib/notify/identity.ts).
    v(
      "facts",
      "the launcher with `--facts=` (no `%F`), started by `with_pidfd`",
      [WITH_PIDFD, LAUNCHER, "notify", "--facts=1:11:0:0:1:!usr!bin!x", "%p", ...words.slice(1)],
      {},
    ),
    v(
      "pidfd",
      "same with `%F`: the pid, uid and gid read through the pidfd (fd 3)",
      [WITH_PIDFD, LAUNCHER, "notify", "--facts=1:11:0:0:1:3:!usr!bin!x", "%p", ...words.slice(1)],
      {},
    ),
  ];

  await using root = await startRootDaemon(`${work}/state-notify`, [LTTNG_CTL_DEFAULT]);
  const stub = serveStub(`${stubRun}/${NOTIFY_SOCKET_NAME}`);
  try {
    const once = async (x: NotifyVariant, record: boolean) => {
      const u = await rusage(x.cmd, { env: x.env, clearEnv: true, cwd: "/", timeoutMs: 30_000 });
      if (u.exit !== 0 || u.timedOut) {
        x.failures.push(`exit ${u.exit} signal ${u.signal}: ${u.stderr.trim().slice(0, 200)}`);
      } else if (record) {
        x.wall.push(u.wallMs);
        x.rss.push(u.maxrssMiB);
      }
    };
    for (const x of variants) for (let i = 0; i < 2; i++) await once(x, false); // warm up
    for (const x of variants) {
      if (x.failures.length === 2) {
        throw new Error(`the notifier variant "${x.key}" cannot run: ${x.failures[0]}`);
      }
    }
    for (let r = 0; r < opts.notifyRuns; r++) {
      if (budget.left() < 30_000) {
        notes.push(`cut short by the budget after ${r} round(s)`);
        break;
      }
      for (const x of variants) await once(x, true);
    }
  } finally {
    await stub.close();
    await stopRootDaemon(root);
  }
  return { variants, notes };
}
