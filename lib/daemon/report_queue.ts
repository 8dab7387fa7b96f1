/**
 * The crash reports (issue #14): once a crash is released and its core kept, its report
 * (lib/daemon/report_maker.ts) is made and stored with the crash. One report at a time
 * per uid, after the crash's release and a quiet time, so that it never delays a hold or
 * a snapshot; each within a deadline and an output bound. A report that cannot be made
 * is stored as `failed` with the reason: never an error of the daemon.
 *
 * @module
 */
import { type CrashReport, innermostNamedFrame } from "../report/backtrace.ts";
import type { ReportRecord } from "../protocol/records.ts";
import type { ReportEvent } from "../protocol/watch.ts";
import { limitUidOf } from "../sys/subuid.ts";
import { Listeners } from "../core/listeners.ts";
import {
  boundReport,
  makeReport,
  type ReportJob,
  type ReportMakerOptions,
} from "./report_maker.ts";

/** What `watch` is told once a report is stored: its WATCH event, less the type. */
export type ReportNotice = Omit<ReportEvent, "type">;

/** Options of {@linkcode ReportQueue}. */
export interface ReportQueueOptions extends ReportMakerOptions {
  /** Stores a crash's report (the daemon's store). */
  store: {
    setReport(id: number, report: ReportRecord): boolean;
    /** The signature the stored report gave the crash. */
    crashSignature?(id: number): string | undefined;
  };
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
  /**
   * Quiet time before a report starts: it waits until no crash has come for this long
   * ({@linkcode REPORT_SETTLE_MS}), but at most {@linkcode REPORT_MAX_DELAY_MS} after its
   * crash. A report right after a crash (decompressing the core, eu-stack) competes for
   * the CPU with the programs that start then, and with lttng-sessiond registering them.
   */
  settleMs?: number;
}

/**
 * Default of {@linkcode ReportQueueOptions.settleMs}: a traced program started right after
 * a crash registers in a few milliseconds, well within it.
 */
export const REPORT_SETTLE_MS = 250;
/** Longest a report waits for quiet after its crash, in a crash storm. */
export const REPORT_MAX_DELAY_MS = 5000;

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
      report = await makeReport(job, this.#options);
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
}
