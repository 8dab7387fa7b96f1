/**
 * A look at the crashed process in `/proc` while its dump is held (the notifier waits
 * for the reply in pipe mode; the daemon leaves the core unread in socket mode).
 *
 * Which PID: the kernel's. In pipe mode `%P`; in socket mode the coredump connection's
 * peer (`SO_PEERCRED`: the kernel connects as the crashing task), never the core's
 * `pr_pid`, which only names the process in its own pid namespace: another user can give
 * a crash there any pid (`ns_last_pid` in a pid namespace of their own), the pid that
 * another user's held process has in the daemon's. With a pidfd of the process (the
 * peer's `SO_PEERPIDFD`), the reads are kept only if it was still there after them.
 *
 * `/proc/PID` is trusted only once proved to be the crashed process: it is dumping core
 * (`CoreDumping: 1`), its `NSpid` runs from PID (the daemon's pid namespace) to the
 * crash's own pid, its real uid is the crash's, and, in socket mode, its name is the
 * core's (the main thread's; in pipe mode `%e` names the thread that crashed, which may
 * have a name of its own). A process does not exit while it dumps core unless it is
 * killed, so its pid is not reused meanwhile. Then the daemon reads its full command
 * line and executable, and compares its UTS namespace with its own: socket mode records
 * its own hostname only when they are the same (the core carries no hostname; a
 * container has a UTS namespace of its own).
 *
 * The uid: the kernel's `%u` (pipe mode) is global, but a core's `pr_uid` (socket mode)
 * is the uid in the process's own user namespace: `unshare -U --map-root-user` makes any
 * user's crash name uid 0. So in socket mode the real uid that `/proc/PID/status` shows
 * the daemon (global) must map, through `/proc/PID/uid_map`, to the core's uid, and it is
 * that global uid (and gid) which the crash records. When `/proc/PID` cannot be proved to
 * be the process, the uid is unknown (`0xffffffff`) and unverified: no `--uid` trigger
 * matches it.
 *
 * Deno opens nothing under `/proc` without `--allow-all`, so the daemon reads these
 * through libc (`open`, `read`, `readlink`, by FFI, scoped to libc's path): a few
 * microseconds, where starting `grep` and `stat` took milliseconds from the snapshot.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";

/** `(uid_t)-1`: an unknown uid or gid, which no `--uid` filter can name. */
export const UNKNOWN_ID = 0xffff_ffff;

/** What the daemon could tell of a crashed process from `/proc`. */
export interface HeldProcess {
  /** The pid in the daemon's pid namespace, when `/proc/PID` proved to be the process. */
  globalPid?: number;
  /** Its real uid in the daemon's (initial) user namespace, when proved. */
  uid?: number;
  /** Its real gid in the daemon's user namespace, when proved. */
  gid?: number;
  /** Its command line (`/proc/PID/cmdline`, at most 4096 characters), when proved. */
  cmdline?: string[];
  /** Its executable (`/proc/PID/exe`), when proved and readable. */
  exePath?: string;
  /** Its UTS namespace (hostname) against the daemon's. */
  uts: "same" | "other" | "unknown";
  /** `/proc/PID` is not the process: it lives in another pid namespace (a container). */
  elsewhere?: boolean;
  /** Why `uts` is not `same`, in words. */
  note?: string;
}

/** Reads under `/proc` (`libc()` of lib/daemon/libc.ts); injected so the check is testable without a crash. */
export interface ProcReader {
  /** The text of a small file (the first 16 KiB), or `undefined` when it cannot be read. */
  readFile(path: string): string | undefined;
  /** The target of a link, or `undefined` when it cannot be read. */
  readLink(path: string): string | undefined;
}

/** Fields of `/proc/PID/status` the check reads. */
interface StatusFacts {
  name?: string;
  state?: string;
  uid?: number;
  gid?: number;
  coreDumping?: string;
  nsPids?: number[];
}

/**
 * Parse the `Name:`, `State:` (its letter), `Uid:` and `Gid:` (the real ones),
 * `CoreDumping:` and `NSpid:` lines of `/proc/PID/status`.
 */
export function parseStatus(text: string): StatusFacts {
  const out: StatusFacts = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^\t/, "");
    if (key === "Name") out.name = value;
    else if (key === "State") out.state = value.trim().slice(0, 1);
    else if (key === "Uid") out.uid = Number(value.split(/\s+/)[0]);
    else if (key === "Gid") out.gid = Number(value.split(/\s+/)[0]);
    else if (key === "CoreDumping") out.coreDumping = value.trim();
    else if (key === "NSpid") out.nsPids = value.trim().split(/\s+/).map(Number);
  }
  return out;
}

/**
 * `id` (in the reader's user namespace) mapped through an id map (`/proc/PID/uid_map`
 * read from another user namespace: `inside outside count` lines), or `undefined` when
 * the map has no range for it.
 *
 * @example
 * ```ts
 * import { mapIdInside } from "./held_process.ts";
 * mapIdInside("         0       1000          1\n", 1000); // 0
 * mapIdInside("         0       1000          1\n", 1001); // undefined
 * ```
 */
export function mapIdInside(map: string, id: number): number | undefined {
  for (const line of map.split("\n")) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length !== 3 || f.some((n) => !Number.isSafeInteger(n))) continue;
    const [inside, outside, count] = f;
    if (id >= outside && id < outside + count) return inside + (id - outside);
  }
  return undefined;
}

/** Most characters of command line kept. */
const CMDLINE_MAX = 4096;

/** Options of {@linkcode lookAtHeldProcess} and {@linkcode withHeldProcess}. */
export interface HeldProcessOptions {
  /** Where the crash came from: the notifier (pipe mode) or the coredump socket. */
  source: "notify" | "socket";
  /**
   * Is the process still there (not reaped), asked after the reads: through a pidfd of
   * it (lib/sys/pidfd.ts). While it is, its pid is not another process's, so what `/proc`
   * said is proved to be its own; once reaped, nothing read is kept.
   */
  alive?: () => boolean;
}

/**
 * Look at the crashed process: `crash.globalPid` (or else `crash.pid`) in `/proc`, which
 * must prove to be the process whose own pid is `crash.pid`. Call it while the dump is
 * held. `reader` is a {@linkcode ProcReader}, or why there is none. Never throws.
 */
export function lookAtHeldProcess(
  crash: Pick<CrashFacts, "pid" | "globalPid" | "uid" | "execName">,
  reader: ProcReader | string,
  options: HeldProcessOptions,
): HeldProcess {
  const seen = look(crash, reader, options);
  if (options.alive === undefined || options.alive()) return seen;
  return {
    uts: "unknown",
    note: `the process ${
      crash.globalPid ?? crash.pid
    } was reaped while /proc was read: what it said may be another process's`,
  };
}

function look(
  crash: Pick<CrashFacts, "pid" | "globalPid" | "uid" | "execName">,
  reader: ProcReader | string,
  options: HeldProcessOptions,
): HeldProcess {
  if (typeof reader === "string") return { uts: "unknown", note: reader };
  const here = crash.globalPid ?? crash.pid;
  if (!Number.isSafeInteger(here) || here <= 0) {
    return { uts: "unknown", note: `no process to look at (pid ${here})` };
  }
  const proc = `/proc/${here}`;
  try {
    const status = reader.readFile(`${proc}/status`);
    if (status === undefined) {
      return {
        uts: "unknown",
        elsewhere: true,
        note:
          `${proc} does not exist here: the process is in another pid namespace (or was killed)`,
      };
    }
    const s = parseStatus(status);
    // The kernel escapes a backslash and a newline in Name:.
    const name = crash.execName.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
    // A core's uid is its user namespace's: the global one must map to it (socket mode).
    const sameUid = s.uid === crash.uid ||
      (options.source === "socket" && s.uid !== undefined &&
        mapIdInside(reader.readFile(`${proc}/uid_map`) ?? "", s.uid) === crash.uid);
    if (
      s.nsPids?.[0] !== here || s.nsPids.at(-1) !== crash.pid || !sameUid ||
      (options.source === "socket" && s.name !== name)
    ) {
      return {
        uts: "unknown",
        elsewhere: true,
        note: `${proc} is another process here: the crashed one is in another pid namespace`,
      };
    }
    const ids = { uid: s.uid!, ...(s.gid === undefined ? {} : { gid: s.gid }) };
    if (s.coreDumping !== "1") {
      // A core smaller than the pipe's or the socket's buffer does not hold the process.
      // Exited but not yet reaped (a zombie), it is still the process: its pid is not
      // reused before it is reaped, so its ids are still proved.
      const note = `${proc} is no longer dumping core: it was not held`;
      return s.state === "Z" ? { ...ids, uts: "unknown", note } : { uts: "unknown", note };
    }
    const out: HeldProcess = { globalPid: here, ...ids, uts: "unknown" };
    const cmdline = reader.readFile(`${proc}/cmdline`);
    if (cmdline !== undefined && cmdline !== "") {
      out.cmdline = cmdline.slice(0, CMDLINE_MAX).replace(/\0$/, "").split("\0");
    }
    const exe = reader.readLink(`${proc}/exe`);
    if (exe !== undefined) out.exePath = exe;
    const theirs = reader.readLink(`${proc}/ns/uts`);
    const ours = reader.readLink("/proc/self/ns/uts");
    if (theirs === undefined || ours === undefined) {
      out.note = `cannot read ${theirs === undefined ? `${proc}/ns/uts` : "/proc/self/ns/uts"}`;
    } else if (theirs !== ours) {
      out.uts = "other";
      out.note = "another UTS namespace than the daemon's";
    } else {
      out.uts = "same";
    }
    return out;
  } catch (err) {
    return { uts: "unknown", note: `cannot look at ${proc}: ${(err as Error).message}` };
  }
}

/**
 * `facts` completed with what {@linkcode lookAtHeldProcess} saw. The kernel's facts win
 * where both exist (pipe mode); in socket mode the full command line replaces the core's
 * first 80 bytes, the daemon's hostname stays only when the UTS namespace is shared, and
 * the uid and gid are the global ones `/proc` proved, or unknown and unverified.
 */
export function withHeldProcess(
  facts: CrashFacts,
  seen: HeldProcess,
  options: HeldProcessOptions,
): CrashFacts {
  const { source } = options;
  const out = { ...facts };
  if (seen.globalPid !== undefined) out.globalPid ??= seen.globalPid;
  if (seen.cmdline !== undefined && (source === "socket" || out.cmdline === undefined)) {
    out.cmdline = seen.cmdline;
  }
  if (seen.exePath !== undefined) out.exePath ??= seen.exePath;
  if (source === "socket") {
    if (seen.uid !== undefined) {
      if (seen.uid !== facts.uid) {
        out.uidNote = `the core's uid ${facts.uid} is its user namespace's`;
      }
      out.uid = seen.uid;
      out.gid = seen.gid ?? out.gid;
    } else {
      out.uid = UNKNOWN_ID;
      out.gid = UNKNOWN_ID;
      out.uidVerified = false;
      out.uidNote = facts.uid === UNKNOWN_ID
        ? `not known: the core names no uid, and /proc could not prove the process's ` +
          `(${seen.note ?? "no look at /proc"})`
        : `not known: the core names uid ${facts.uid} gid ${facts.gid} in the ` +
          `process's own user namespace, and /proc could not prove which global uid that is ` +
          `(${seen.note ?? "no look at /proc"})`;
    }
    if (seen.uts === "other" || seen.elsewhere) {
      out.hostname = "";
      out.hostnameNote = `not known: ${seen.note}`;
    } else if (seen.uts === "unknown") {
      out.hostnameNote = `the daemon's; the process's own is not known (${seen.note})`;
    }
  }
  return out;
}
