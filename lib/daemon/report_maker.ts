/**
 * One crash report made (issue #14): the kept core (zstd) decompressed into a private
 * temporary directory, after a check that it fits in the free space (lib/daemon/report_core.ts),
 * the backtrace of every thread computed from it (lib/report/backtrace.ts), and the
 * directory removed; the record bounded in size before it is stored. Scheduling the
 * reports is lib/daemon/report_queue.ts's.
 *
 * @module
 */
import { type BacktraceOptions, computeBacktrace, type CrashReport } from "../report/backtrace.ts";
import { type RunAs, runAsFor } from "../report/as_user.ts";
import type { ReportRecord } from "../protocol/records.ts";
import {
  type Decompressor,
  decompressZstd,
  type FsSpace,
  noRoomFor,
  statfsSpace,
} from "./report_core.ts";

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

/** How a report is made. */
export interface ReportMakerOptions {
  /** Directory under which each report's private temporary directory is made. */
  tempParent: string;
  /** Deadline of eu-stack, in milliseconds. @default 15000 */
  timeoutMs?: number;
  /** Most bytes of eu-stack output read. @default 1 MiB */
  maxOutputBytes?: number;
  /** Whom a crash's report is made as. @default runAsFor (lib/report/as_user.ts) */
  runAs?: (uid: number | undefined, gid: number | undefined) => RunAs | undefined;
  /** The free space of the temporary directory's filesystem. @default statfs(2) */
  space?: (dir: string) => FsSpace;
  /** Computes the backtrace. @default computeBacktrace */
  compute?: (core: string, options: BacktraceOptions) => Promise<CrashReport>;
  /** Decompresses the kept core. @default {@linkcode decompressZstd} */
  decompress?: Decompressor;
  /** Clock. @default () => new Date() */
  now?: () => Date;
  /** Log sink. */
  log(line: string): void;
}

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
 * Make the report of `job`'s crash: `ready`, or `failed` with the reason (a report that
 * cannot be made is never an error); it rejects only when `compute` does.
 */
export async function makeReport(job: ReportJob, o: ReportMakerOptions): Promise<ReportRecord> {
  const now = () => (o.now?.() ?? new Date()).toISOString();
  const failed = (reason: string): ReportRecord => ({ state: "failed", reason, time: now() });
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
      return failed(
        `cannot read the free space of ${o.tempParent}: ${(err as Error).message}`,
      );
    }
    const problem = noRoomFor(job.bytes!, o.tempParent, space);
    if (problem !== undefined) return failed(problem);
  }
  let dir: string;
  try {
    // Deno makes it 0700: the decompressed core (the process's memory) is private. Made
    // the crashing user's for their report: only they (and root) may enter it.
    dir = await Deno.makeTempDir({ dir: o.tempParent, prefix: REPORT_TEMP_PREFIX });
    if (as !== undefined) await Deno.chown(dir, as.uid, as.gid);
  } catch (err) {
    return failed(
      `cannot make a temporary directory in ${o.tempParent}: ${(err as Error).message}`,
    );
  }
  try {
    const core = `${dir}/core`;
    const max = known ? job.bytes! : UNKNOWN_CORE_MAX;
    try {
      await (o.decompress ?? decompressZstd)(job.core, core, max, as);
    } catch (err) {
      return failed(`cannot decompress the core ${job.core}: ${(err as Error).message}`);
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
      time: now(),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch((err) =>
      o.log(`report of crash ${job.id}: cannot remove ${dir}: ${(err as Error).message}`)
    );
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
