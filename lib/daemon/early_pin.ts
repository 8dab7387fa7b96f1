/**
 * Pinning a crash the process connector announced (lib/daemon/proc_connector.ts): the
 * daemon opens a pidfd on the announced process at once, then proves that the pidfd and
 * `/proc/TGID` are the process the kernel named, then reads what the triggers need.
 *
 * The event names a thread (`pid`) and its process (`tgid`) by their global pids, and
 * the CLOCK_MONOTONIC time of the announcement. A pid is a number the kernel may give
 * again once its process is gone, so the pidfd and `/proc` count as the announced process
 * only when, read after the pidfd was opened:
 * - `/proc/TGID/status` says `CoreDumping: 1` (a process dumps core only after the
 *   kernel announced it; a new process with a reused pid is not dumping), or that it is
 *   a zombie (a dump that reached no helper ends at once), and its `NSpid` starts with
 *   TGID;
 * - its start time (`/proc/TGID/stat`, clock ticks since boot) is not after the event;
 * - after every read, the pidfd's process is still there (not reaped): the pid then
 *   still names the process that the pidfd holds, so every read was of it.
 *
 * What it reads: the crashing thread's name (`/proc/TGID/task/PID/comm`, as `%e` names
 * it), its tid in its own pid namespace, the real uid and gid, the executable, the
 * command line, and whether its UTS namespace is the daemon's (for the hostname).
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";
import type { CoredumpEvent } from "./proc_event.ts";
import { parseStatus, type ProcReader } from "./held_process.ts";

/**
 * What pinning needs of the kernel: lib/sys/pidfd.ts's calls, libc's clocks and `/proc`
 * reads (lib/daemon/libc.ts), or fakes in tests.
 */
export interface PinOps extends ProcReader {
  /** `pidfd_open(pid, 0)`, or why it failed. */
  pidfdOpen(pid: number): number | string;
  /** Whether the pidfd's process is still there (not reaped: its pid is still its own). */
  pidfdAlive(pidfd: number): boolean;
  /** Close a pidfd. */
  closePidfd(fd: number): void;
  /** CLOCK_BOOTTIME minus CLOCK_MONOTONIC, in nanoseconds. */
  bootOffsetNs(): bigint;
  /** Clock ticks per second of `/proc/PID/stat`. */
  clockTicks(): number;
  /** CLOCK_MONOTONIC, in nanoseconds (the clock of the event's timestamp). */
  monotonicNs(): number;
}

/** A crash the daemon holds a pidfd on. */
export interface PinnedCrash {
  /** The pidfd on the announced process. */
  pidfd: number;
  /** Its global pid. */
  tgid: number;
  /** Its start time, in clock ticks since boot (`/proc/TGID/stat` field 22). */
  startTicks: number;
  /** What the triggers need, as far as `/proc` told it. */
  facts: CrashFacts;
}

/** Options of {@linkcode pinCrash}. */
export interface PinOptions {
  /** The daemon's hostname (recorded when the process shares its UTS namespace). */
  hostname: string;
  /** The daemon's own `/proc/self/ns/uts` link, read once. @default read each time */
  ownUts?: string;
}

/** The refusal of a process not (yet) dumping core: its other threads may still be stopping. */
export const NOT_DUMPING = "it is not dumping core";

/** Most characters of command line kept (as lib/daemon/held_process.ts keeps). */
const CMDLINE_MAX = 4096;

/** Field 22 (starttime) of `/proc/PID/stat`; the name in field 2 may hold spaces and ')'. */
export function startTicksOf(stat: string): number | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(" ");
  // Fields from 3 on: starttime is field 22, the 20th of these.
  const v = Number(fields[19]);
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Pin the process that `event` announced and read its facts; or say why it is not the
 * announced one (then nothing stays open). Never throws.
 */
export function pinCrash(
  event: CoredumpEvent,
  ops: PinOps,
  options: PinOptions,
): PinnedCrash | string {
  const pidfd = ops.pidfdOpen(event.tgid);
  if (typeof pidfd === "string") {
    const late = (ops.monotonicNs() - Number(event.timestampNs)) / 1e6;
    return `pid ${event.tgid} cannot be pinned: ${pidfd} (${
      late.toFixed(2)
    } ms after the announcement)`;
  }
  const refuse = (why: string) => {
    ops.closePidfd(pidfd);
    return `pid ${event.tgid} is not the announced process: ${why}`;
  };
  try {
    const proc = `/proc/${event.tgid}`;
    const statusText = ops.readFile(`${proc}/status`);
    if (statusText === undefined) return refuse(`${proc}/status cannot be read`);
    const s = parseStatus(statusText);
    if (s.nsPids?.[0] !== event.tgid) return refuse(`${proc} names pid ${s.nsPids?.[0]}`);
    // A dump that never reaches a helper (RLIMIT_CORE 0 with a file pattern) ends at once:
    // the process may already be a zombie, not yet reaped, still the one announced.
    if (s.coreDumping !== "1" && s.state !== "Z") return refuse(NOT_DUMPING);
    if (s.uid === undefined || s.gid === undefined) return refuse("no uid in its status");
    const start = startTicksOf(ops.readFile(`${proc}/stat`) ?? "");
    if (start === undefined) return refuse(`${proc}/stat cannot be read`);
    const ticks = ops.clockTicks();
    const eventBootNs = event.timestampNs + ops.bootOffsetNs();
    // starttime is rounded down to a tick: compare in ticks, rounded up on the event's side.
    const eventTicks = Number(eventBootNs / (1_000_000_000n / BigInt(ticks))) + 1;
    if (start > eventTicks) return refuse(`it started after the announcement (${start} ticks)`);
    const task = `${proc}/task/${event.pid}`;
    const comm = ops.readFile(`${task}/comm`)?.replace(/\n$/, "") ?? s.name ?? "";
    const taskStatus = parseStatus(ops.readFile(`${task}/status`) ?? "");
    const cmdline = ops.readFile(`${proc}/cmdline`);
    const exe = ops.readLink(`${proc}/exe`);
    const theirs = ops.readLink(`${proc}/ns/uts`);
    const ours = options.ownUts ?? ops.readLink("/proc/self/ns/uts");
    if (!ops.pidfdAlive(pidfd)) return refuse("it was reaped while it was read");
    const ownPid = s.nsPids.at(-1)!;
    const facts: CrashFacts = {
      pid: ownPid,
      globalPid: event.tgid,
      uid: s.uid,
      gid: s.gid,
      execName: comm,
      hostname: theirs !== undefined && theirs === ours ? options.hostname : "",
      ...(taskStatus.nsPids === undefined ? {} : { tid: taskStatus.nsPids.at(-1)! }),
      ...(exe === undefined ? {} : { exePath: exe }),
      ...(cmdline === undefined || cmdline === ""
        ? {}
        : { cmdline: cmdline.slice(0, CMDLINE_MAX).replace(/\0$/, "").split("\0") }),
    };
    if (facts.hostname === "") {
      facts.hostnameNote = theirs === undefined || ours === undefined
        ? "not known: its UTS namespace cannot be read"
        : "not known: another UTS namespace than the daemon's";
    }
    return { pidfd, tgid: event.tgid, startTicks: start, facts };
  } catch (err) {
    return refuse((err as Error).message);
  }
}
