/**
 * The crash reports (issue #14): once a crash is released and its core kept, the
 * backtrace of every thread is computed from the core (lib/report/backtrace.ts) and
 * stored with the crash. One report at a time, after the crash's release, so that it
 * never delays a hold or a snapshot; each within a deadline and an output bound; the
 * kept core (zstd) is decompressed into a private temporary directory for eu-stack and
 * removed afterwards. A report that cannot be made is stored as `failed` with the
 * reason: never an error of the daemon.
 *
 * @module
 */
import {
  type BacktraceOptions,
  computeBacktrace,
  type CrashReport,
  innermostNamedFrame,
} from "../report/backtrace.ts";
import { type RunAs, runAsFor } from "../report/as_user.ts";
import type { Frame, ReportRecord } from "../protocol/records.ts";
import { limitUidOf } from "../sys/subuid.ts";
import { Listeners } from "../core/listeners.ts";
import {
  type Decompressor,
  decompressZstd,
  type FsSpace,
  noRoomFor,
  statfsSpace,
} from "./report_core.ts";

export { type Decompressor, decompressZstd, type FsSpace } from "./report_core.ts";

/** One report to compute: a crash and its kept core. */
export interface ReportJob {
  /** The crash's history id. */
  id: number;
  /** The crash's pid. */
  pid: number;
  /** The kept core (zstd-compressed, as core_keeper.ts writes it). */
  core: string;
  /** The crashed executable's path, when known. */
  exe?: string;
  /** The crashing thread's tid, when known. */
  tid?: number;
  /** The core's size before compression, when known (bounds the decompression). */
  bytes?: number;
  /** The crash's uid (global): the report is made with its rights, in its share. */
  uid?: number;
  /** The crash's gid (global). */
  gid?: number;
  /**
   * The kernel's dump mode (`%d`), when known: 2 (`SUID_DUMP_ROOT`) for a process that
   * changed credentials (setuid), whose core is root's alone, as the kernel and
   * systemd-coredump keep it: its report is then made as root, never as the user.
   */
  dumpMode?: number;
}

/** What `watch` is told once a report is stored. */
export interface ReportNotice {
  /** The crash's history id. */
  id: number;
  /** The crash's pid. */
  pid: number;
  /** `ready` or `failed`. */
  state: "ready" | "failed";
  /** The crashing thread's innermost frame with a function name, when there is one. */
  frame?: Frame;
  /** Why it failed. */
  reason?: string;
  /** The signature the report gave the crash (lib/report/signature.ts), when stored. */
  signature?: string;
}

/** Options of {@linkcode ReportQueue}. */
export interface ReportQueueOptions {
  /** Stores a crash's report (the daemon's store). */
  store: {
    setReport(id: number, report: ReportRecord): boolean;
    /** The signature the stored report gave the crash. */
    crashSignature?(id: number): string | undefined;
  };
  /** Directory under which each report's private temporary directory is made. */
  tempParent: string;
  /** Deadline of eu-stack, in milliseconds. @default 15000 */
  timeoutMs?: number;
  /** Most bytes of eu-stack output read. @default 1 MiB */
  maxOutputBytes?: number;
  /** Largest report stored, in bytes of JSON: other threads go first. @default 64 KiB */
  maxReportBytes?: number;
  /**
   * Most reports waiting per uid (a subordinate uid counts as its owner); past it a report
   * is stored failed at once. @default 64
   */
  maxQueued?: number;
  /**
   * Reports made at once, each of another uid: one uid's slow report (a FIFO for a
   * library) never delays another uid's. @default 4
   */
  maxRunning?: number;
  /** The uid whose share a crash of `uid` counts in. @default limitUidOf (lib/sys/subuid.ts) */
  ownerOf?: (uid: number) => number;
  /** Whom a crash's report is made as. @default runAsFor (lib/report/as_user.ts) */
  runAs?: (uid: number | undefined, gid: number | undefined) => RunAs | undefined;
  /** The free space of the temporary directory's filesystem. @default statfs(2) */
  space?: (dir: string) => FsSpace;
  /** Computes the backtrace. @default computeBacktrace */
  compute?: (core: string, options: BacktraceOptions) => Promise<CrashReport>;
  /** Decompresses the kept core. @default {@linkcode decompressZstd} */
  decompress?: Decompressor;
  /**
   * Quiet time before a report starts: it waits until no crash has come for this long
   * ({@linkcode REPORT_SETTLE_MS}), but at most {@linkcode REPORT_MAX_DELAY_MS} after its
   * crash. A report right after a crash (decompressing the core, eu-stack) competes for
   * the CPU with the programs that start then, and with lttng-sessiond registering them.
   */
  settleMs?: number;
  /** Clock. @default () => new Date() */
  now?: () => Date;
  /** Log sink. */
  log(line: string): void;
}

/**
 * Default of {@linkcode ReportQueueOptions.settleMs}: a traced program started right after
 * a crash registers in a few milliseconds, well within it.
 */
export const REPORT_SETTLE_MS = 250;
/** Longest a report waits for quiet after its crash, in a crash storm. */
export const REPORT_MAX_DELAY_MS = 5000;

/** Prefix of the private temporary directories (left-overs are removed at start). */
export const REPORT_TEMP_PREFIX = "report-";
/** Largest core decompressed when its size is not known: 64 GiB. */
const UNKNOWN_CORE_MAX = 64 * 1024 ** 3;

/**
 * Make `report` fit `maxBytes` of JSON: the last threads go first, then the crashing
 * thread's outermost frames; what went is said in `missing`.
 */
export function boundReport(report: ReportRecord, maxBytes: number): ReportRecord {
  const size = (r: ReportRecord) => new TextEncoder().encode(JSON.stringify(r)).byteLength;
  if (size(report) <= maxBytes) return report;
  const threads = [...(report.threads ?? [])];
  let dropped = 0;
  const out = (): ReportRecord => ({
    ...report,
    threads,
    missing: [
      ...(report.missing ?? []),
      ...(dropped > 0 ? [`threads: ${dropped} more threads not kept (report size)`] : []),
    ],
  });
  while (threads.length > 1 && size(out()) > maxBytes) {
    threads.pop();
    dropped++;
  }
  if (threads.length === 1) {
    const first = { ...threads[0], frames: [...threads[0].frames] };
    threads[0] = first;
    while (first.frames.length > 1 && size(out()) > maxBytes) first.frames.pop();
  }
  return out();
}

/**
 * Computes crash reports: one at a time per uid (a subordinate uid counts as its owner),
 * the uids served in turn, up to `maxRunning` uids at once.
 */
export class ReportQueue {
  #options: ReportQueueOptions;
  // Waiting jobs per owner uid.
  #waiting = new Map<number, ReportJob[]>();
  #running = new Map<number, Promise<void>>();
  // When each uid was last served (a turn number), for the round robin.
  #served = new Map<number, number>();
  #turns = 0;
  #listeners = new Listeners<ReportNotice>();
  #closed = false;
  #lastSubmit = 0;
  #submitted = new WeakMap<ReportJob, number>();

  /** Build a queue. */
  constructor(options: ReportQueueOptions) {
    this.#options = options;
  }

  /** Subscribe to stored reports; returns the unsubscribe function. */
  listen(listener: (notice: ReportNotice) => void): () => void {
    return this.#listeners.listen(listener);
  }

  /** Jobs waiting (not counting those running). */
  get queued(): number {
    let n = 0;
    for (const jobs of this.#waiting.values()) n += jobs.length;
    return n;
  }

  /**
   * Queue the report of `job`'s crash: stored `pending` at once, then `ready` or
   * `failed`. Returns false when it was refused (its uid's queue full, or closed): it is
   * then stored `failed`.
   */
  submit(job: ReportJob): boolean {
    if (this.#closed) {
      this.#store(job, this.#failed("the daemon is stopping"));
      return false;
    }
    const owner = this.#ownerOf(job);
    const jobs = this.#waiting.get(owner) ?? [];
    if (jobs.length >= (this.#options.maxQueued ?? 64)) {
      this.#store(job, this.#failed("too many crash reports waiting: this one was not made"));
      return false;
    }
    this.#store(job, { state: "pending", time: this.#now() });
    this.#lastSubmit = performance.now();
    this.#submitted.set(job, this.#lastSubmit);
    jobs.push(job);
    this.#waiting.set(owner, jobs);
    this.#pump();
    return true;
  }

  /** Resolves once no report is queued or running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running.values());
  }

  /** Refuse new jobs, store the queued ones `failed`, and wait for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const jobs of this.#waiting.values()) {
      for (const job of jobs) {
        this.#store(job, this.#failed("the daemon stopped before the report was made"));
      }
    }
    this.#waiting.clear();
    await this.idle();
  }

  #ownerOf(job: ReportJob): number {
    return (this.#options.ownerOf ?? limitUidOf)(job.uid ?? 0);
  }

  // Start the next job of the uid served least recently among those with none running,
  // again, up to maxRunning.
  #pump(): void {
    const most = Math.max(1, this.#options.maxRunning ?? 4);
    while (this.#running.size < most) {
      let owner: number | undefined;
      for (const o of this.#waiting.keys()) {
        if (this.#running.has(o)) continue;
        if (owner === undefined || (this.#served.get(o) ?? -1) < (this.#served.get(owner) ?? -1)) {
          owner = o;
        }
      }
      if (owner === undefined) return;
      const jobs = this.#waiting.get(owner)!;
      const job = jobs.shift()!;
      if (jobs.length === 0) this.#waiting.delete(owner);
      this.#served.set(owner, this.#turns++);
      const started = owner;
      const run = this.#run(job).finally(() => {
        this.#running.delete(started);
        if (!this.#waiting.has(started)) this.#served.delete(started); // bounded by the queue
        this.#pump();
      });
      this.#running.set(owner, run);
    }
  }

  #now(): string {
    return (this.#options.now?.() ?? new Date()).toISOString();
  }

  #failed(reason: string): ReportRecord {
    return { state: "failed", reason, time: this.#now() };
  }

  #store(job: ReportJob, report: ReportRecord): void {
    try {
      this.#options.store.setReport(job.id, report);
    } catch (err) {
      this.#options.log(`report of crash ${job.id}: not stored: ${(err as Error).message}`);
    }
  }

  /** Wait for quiet before `job` (see {@linkcode ReportQueueOptions.settleMs}). */
  async #settle(job: ReportJob): Promise<void> {
    const settle = this.#options.settleMs ?? REPORT_SETTLE_MS;
    const latest = (this.#submitted.get(job) ?? 0) + REPORT_MAX_DELAY_MS;
    for (;;) {
      const wait = Math.min(this.#lastSubmit + settle, latest) - performance.now();
      if (wait <= 0 || this.#closed) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async #run(job: ReportJob): Promise<void> {
    await this.#settle(job);
    let report: ReportRecord;
    try {
      report = await this.#make(job);
    } catch (err) {
      report = this.#failed((err as Error).message);
    }
    report = boundReport(report, this.#options.maxReportBytes ?? 64 * 1024);
    this.#store(job, report);
    const state = report.state === "ready" ? "ready" : "failed";
    const frame = state === "ready"
      ? innermostNamedFrame({ ...report, threads: report.threads ?? [] } as CrashReport)
      : undefined;
    this.#options.log(
      `report of crash ${job.id} (pid ${job.pid}): ${state}${
        frame?.function ? ` in ${frame.function}` : ""
      }${report.reason ? ` (${report.reason})` : ""}${
        report.durationMs === undefined ? "" : `, ${report.durationMs} ms`
      }`,
    );
    let signature: string | undefined;
    try {
      signature = this.#options.store.crashSignature?.(job.id);
    } catch { /* a store that cannot be read: no signature in the notice */ }
    const notice: ReportNotice = {
      id: job.id,
      pid: job.pid,
      state,
      ...(frame === undefined ? {} : { frame }),
      ...(report.reason === undefined ? {} : { reason: report.reason }),
      ...(signature === undefined ? {} : { signature }),
    };
    this.#listeners.emit(notice);
  }

  async #make(job: ReportJob): Promise<ReportRecord> {
    const o = this.#options;
    // Another user's crash (in the root daemon) is decompressed and read as that user;
    // a setuid process's core (dump mode 2) is not theirs to read, and stays root's.
    const privileged = job.dumpMode !== undefined && job.dumpMode !== 1;
    const as = privileged ? undefined : (o.runAs ?? runAsFor)(job.uid, job.gid);
    const known = job.bytes !== undefined && job.bytes > 0;
    if (known) {
      let space: FsSpace;
      try {
        space = (o.space ?? statfsSpace)(o.tempParent);
      } catch (err) {
        return this.#failed(
          `cannot read the free space of ${o.tempParent}: ${(err as Error).message}`,
        );
      }
      const problem = noRoomFor(job.bytes!, o.tempParent, space);
      if (problem !== undefined) return this.#failed(problem);
    }
    let dir: string;
    try {
      // Deno makes it 0700: the decompressed core (the process's memory) is private. Made
      // the crashing user's for their report: only they (and root) may enter it.
      dir = await Deno.makeTempDir({ dir: o.tempParent, prefix: REPORT_TEMP_PREFIX });
      if (as !== undefined) await Deno.chown(dir, as.uid, as.gid);
    } catch (err) {
      return this.#failed(
        `cannot make a temporary directory in ${o.tempParent}: ${(err as Error).message}`,
      );
    }
    try {
      const core = `${dir}/core`;
      const max = known ? job.bytes! : UNKNOWN_CORE_MAX;
      try {
        await (o.decompress ?? decompressZstd)(job.core, core, max, as);
      } catch (err) {
        return this.#failed(`cannot decompress the core ${job.core}: ${(err as Error).message}`);
      }
      // /proc/PID/exe of a deleted file reads "PATH (deleted)".
      const exe = job.exe?.replace(/ \(deleted\)$/, "");
      const r = await (o.compute ?? computeBacktrace)(core, {
        ...(exe === undefined ? {} : { exe }),
        ...(job.tid === undefined ? {} : { tid: job.tid }),
        ...(as === undefined ? {} : { as }),
        cwd: dir,
        timeoutMs: o.timeoutMs ?? 15_000,
        maxBytes: o.maxOutputBytes ?? 1024 * 1024,
      });
      // eu-stack names the temporary core in its messages: name the kept one instead.
      const own = (text: string) => text.replaceAll(core, job.core).replaceAll("./core", job.core);
      return {
        ...r,
        ...(r.reason === undefined ? {} : { reason: own(r.reason) }),
        missing: r.missing.map(own),
        time: this.#now(),
      };
    } finally {
      await Deno.remove(dir, { recursive: true }).catch((err) =>
        o.log(`report of crash ${job.id}: cannot remove ${dir}: ${(err as Error).message}`)
      );
    }
  }
}

/** Remove the temporary directories a stopped daemon left in `parent`. */
export async function removeStaleReportDirs(parent: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(parent)) {
      if (e.isDirectory && e.name.startsWith(REPORT_TEMP_PREFIX)) {
        await Deno.remove(`${parent}/${e.name}`, { recursive: true }).catch(() => {});
      }
    }
  } catch { /* nothing to clean */ }
}
