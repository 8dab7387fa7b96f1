/**
 * Measurement 3: the daemon's ingest rate and reply latency with concurrent senders,
 * against a stub server that replies at once, the daemon's `--quiet` lever, and the store
 * alone (on the state directory's disk and on tmpfs).
 *
 * @module
 */
import { sendNotification } from "../lib/client/client.ts";
import { NotifyStatus } from "../lib/wire/notify.ts";
import { TriggerStore } from "../lib/store/trigger_store.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import { BENCH_DIR, type BenchContext, DENO, ours } from "./run.ts";
import { fsType, history, type Server, spawnServer, startTempDaemon, trig } from "./project.ts";
import { num, summarize, type Summary } from "./stats.ts";

/** The daemon's lever measured here (a real option of `lttng-trig daemon`). */
export const QUIET_LEVER = "--quiet";

/** One server at one sender level, over every repetition. */
export interface IngestRun {
  target: string;
  senders: number;
  sent: number;
  replied: number;
  errors: number;
  firstError?: string;
  /** Notifications per second of each repetition. */
  rates: number[];
  /** Median of `rates`. */
  rate: number;
  /** Reply latency over every repetition's notifications. */
  latency: Summary;
  recorded?: number;
  pending?: number;
}

/** The store alone, one configuration. */
export interface StoreRun {
  label: string;
  fs: string;
  record: Summary;
  finish: Summary;
}

/** The results of measurement 3. */
export interface IngestPhase {
  runs: IngestRun[];
  levers: IngestRun[];
  storeRuns: StoreRun[];
  trigger: string;
  stateFs: string;
  notes: string[];
}

/** The daemon's row label (the report finds it by this). */
export const DAEMON_LABEL = "lttng-trig daemon";
/** The stub's row label. */
export const STUB_LABEL = "stub server (no store: the floor)";

let pidBase = 1_000_000;

interface LoadResult {
  base: number;
  sent: number;
  errors: number;
  firstError?: string;
  seconds: number;
  latencies: number[];
}

/** `count` notifications from `senders` concurrent clients, each on a new connection. */
async function load(
  socket: string,
  senders: number,
  count: number,
  maxMs = 30_000,
): Promise<LoadResult> {
  const base = pidBase;
  pidBase += count + 1000;
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const start = performance.now();
  const stopAt = start + maxMs;
  await Promise.all(Array.from({ length: senders }, async () => {
    while (performance.now() < stopAt) {
      const i = next++;
      if (i >= count) return;
      const t = performance.now();
      try {
        const r = await sendNotification(socket, {
          pid: base + i,
          uid: 0,
          gid: 0,
          execName: "bench-ingest",
          hostname: "benchhost",
        }, { timeoutMs: 20_000 });
        latencies.push(performance.now() - t);
        if (r.status !== NotifyStatus.OK) {
          errors++;
          firstError ??= `reply status ${r.status}`;
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  return { base, sent: Math.min(next, count), errors, firstError, seconds, latencies };
}

/** How many of the notifications `base..base+sent` the daemon's history holds. */
async function countRecorded(control: string, base: number, sent: number) {
  let recorded = 0;
  let pending = 0;
  await waitFor(async () => {
    const crashes = await history(control, sent + 100);
    const mine = crashes.filter((c) =>
      c.execName === "bench-ingest" && c.pid >= base && c.pid < base + sent
    );
    recorded = new Set(mine.map((c) => c.pid)).size;
    pending = mine.filter((c) => c.outcome === "pending").length;
    return recorded >= sent && pending === 0;
  }, { timeoutMs: 10_000, what: "the history to settle", intervalMs: 100 }).catch(() => {});
  return { recorded, pending };
}

/** Run measurement 3. */
export async function measureIngest(ctx: BenchContext): Promise<IngestPhase> {
  const { opts, work, budget } = ctx;
  const notes: string[] = [];
  const dir = `${work}/ingest`;
  await Deno.mkdir(dir, { mode: 0o700 });
  const trigger =
    "`set --run-dir=DIR -s trigbench-none -n bench-nomatch --exec=bench-never-matches OnAnyCoreDump snapshot`: every notification is checked against it, recorded in the history (outcome `no-trigger`, SQLite in WAL mode), and answered; no lttng process runs";
  const setTrigger = (run: string) =>
    trig([
      "set",
      `--run-dir=${run}`,
      "-s",
      "trigbench-none",
      "-n",
      "bench-nomatch",
      "--exec=bench-never-matches",
      "OnAnyCoreDump",
      "snapshot",
    ]);

  // Every server runs at once (an idle one costs nothing) and they take turns, level by
  // level, repetition after repetition, so that a busy spell of the machine hits all alike.
  interface Entry {
    label: string;
    server: Server;
    levels: number[];
    lever: boolean;
    acc: Map<number, { loads: LoadResult[]; recorded: number; pending: number }>;
  }
  const entries: Entry[] = [];
  const add = (label: string, server: Server, levels: number[], lever = false) =>
    entries.push({ label, server, levels, lever, acc: new Map() });
  try {
    add(DAEMON_LABEL, await startTempDaemon(`${dir}/main`), opts.senders);
    await setTrigger(`${dir}/main/run`);

    // The floor: a Deno process serving the same socket protocol, replying at once.
    const stubSocket = `${dir}/stub.sock`;
    add(
      STUB_LABEL,
      await spawnServer(
        DENO,
        ["run", "--quiet", "-A", "--no-config", `${BENCH_DIR}/stub_server.ts`, stubSocket],
        stubSocket,
      ),
      opts.senders,
    );

    // The lever, at 16 senders: no log line per crash.
    add(
      `daemon \`${QUIET_LEVER}\` (no log line per crash)`,
      await startTempDaemon(`${dir}/quiet`, [QUIET_LEVER]),
      [16],
      true,
    );
    await setTrigger(`${dir}/quiet/run`);

    for (const e of entries) {
      await load(e.server.notify, 16, Math.min(500, opts.ingestCount)); // warm-up
    }
    outer: for (let rep = 0; rep < opts.ingestReps; rep++) {
      for (const senders of opts.senders) {
        for (const e of entries.filter((x) => x.levels.includes(senders))) {
          if (budget.left() < 60_000) {
            notes.push(`cut short by the budget in repetition ${rep + 1}`);
            break outer;
          }
          const r = await load(e.server.notify, senders, opts.ingestCount);
          let acc = e.acc.get(senders);
          if (acc === undefined) e.acc.set(senders, acc = { loads: [], recorded: 0, pending: 0 });
          acc.loads.push(r);
          let counted = "";
          if (e.server.control !== undefined) {
            const c = await countRecorded(e.server.control, r.base, r.sent);
            acc.recorded += c.recorded;
            acc.pending += c.pending;
            counted = `, recorded ${c.recorded}/${r.sent}`;
          }
          const l = summarize(r.latencies);
          console.error(
            `bench: ingest ${e.label}, ${senders} sender(s): ${
              num(r.latencies.length / r.seconds, 0)
            }/s, p50 ${num(l.p50, 2)} ms, p99 ${num(l.p99, 2)} ms, errors ${r.errors}${counted}`,
          );
        }
      }
    }
  } finally {
    for (const e of entries) await e.server.stop();
  }
  const runs: IngestRun[] = [];
  const levers: IngestRun[] = [];
  for (const e of entries) {
    for (const [senders, acc] of e.acc) {
      const rates = acc.loads.map((r) => r.latencies.length / r.seconds);
      const run: IngestRun = {
        target: e.label,
        senders,
        sent: acc.loads.reduce((a, r) => a + r.sent, 0),
        replied: acc.loads.reduce((a, r) => a + r.latencies.length, 0),
        errors: acc.loads.reduce((a, r) => a + r.errors, 0),
        firstError: acc.loads.find((r) => r.firstError !== undefined)?.firstError,
        rates,
        rate: summarize(rates).median,
        latency: summarize(acc.loads.flatMap((r) => r.latencies)),
        ...(e.server.control === undefined ? {} : { recorded: acc.recorded, pending: acc.pending }),
      };
      (e.lever ? levers : runs).push(run);
    }
  }
  const stateFs = await fsType(dir);

  // The store alone, in this process: what one notification costs it (no trigger matches:
  // recordCrash then finishCrash, as the daemon does), on disk and on tmpfs.
  const storeRuns: StoreRun[] = [];
  await Deno.mkdir(`${dir}/store-disk`, { mode: 0o700 });
  storeRuns.push(await measureStore("TriggerStore", `${dir}/store-disk`, opts.ingestCount));
  const shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "lttng-trig-bench-" }).catch(
    (err) => {
      throw new Error(`Cannot make a directory on tmpfs (/dev/shm): ${(err as Error).message}`);
    },
  );
  ours.dirs.add(shm);
  try {
    storeRuns.push(
      await measureStore("TriggerStore on tmpfs (fsync costs nothing)", shm, opts.ingestCount),
    );
  } finally {
    await Deno.remove(shm, { recursive: true }).catch(() => {});
    ours.dirs.delete(shm);
  }
  return { runs, levers, storeRuns, trigger, stateFs, notes };
}

/** recordCrash then finishCrash, `count` times (at most 2000), on a new store in `dir`. */
async function measureStore(label: string, dir: string, count: number): Promise<StoreRun> {
  const path = `${dir}/lttng-trig.db`;
  const s = TriggerStore.open(path);
  try {
    s.addTrigger({
      name: "bench-nomatch",
      session: "trigbench-none",
      condition: { type: "OnAnyCoreDump", exec: "bench-never-matches" },
      action: { type: "snapshot" },
    }, 0);
    const rec: number[] = [];
    const fin: number[] = [];
    const n = Math.min(2000, count);
    for (let i = 0; i < n; i++) {
      const facts = { pid: 5_000_000 + i, uid: 0, gid: 0, execName: "bench", hostname: "h" };
      const a = performance.now();
      const { id } = s.recordCrash(facts, "notify");
      const b = performance.now();
      s.finishCrash(id, "no-trigger", []);
      fin.push(performance.now() - b);
      rec.push(b - a);
    }
    return { label, fs: await fsType(path), record: summarize(rec), finish: summarize(fin) };
  } finally {
    s.close();
  }
}
