/**
 * The crash's identity from the kernel's pidfd of the crashed process (`%F`, Linux
 * 6.16+, always fd 3), as systemd-coredump takes it since CVE-2025-4598: its global pid,
 * real uid and real gid, by `PIDFD_GET_INFO` (one call, which fails once the process is
 * reaped); where that fails, its pid from the pidfd's fdinfo and its ids from
 * `/proc/PID/status` read at that pid, proved its own by the pidfd (still there after the
 * read: lib/sys/pidfd.ts). Loaded by lib/notify/cli.ts only when the pattern carries `%F`.
 *
 * @module
 */
import {
  pidfdAlive,
  type PidfdInfo,
  pidfdInfoThrough,
  type PidfdPids,
  pidfdPids,
  readProcText,
  readThroughPidfd,
} from "../sys/pidfd.ts";
import type { NotifyArgs } from "./args.ts";
import { libcIoctl } from "./peer_cred.ts";

/** What {@linkcode withPidfdIdentity} reads through; injected by tests. */
export interface PidfdIdentityDeps {
  /** `PIDFD_GET_INFO`. */
  info(fd: number): PidfdInfo | string;
  /** The pidfd's pids (its fdinfo). */
  pids(fd: number): PidfdPids | string;
  /** Whether its process is still there. */
  alive(fd: number): boolean;
  /** A file under /proc. */
  read(path: string): { text: string } | string;
}

const REAL: PidfdIdentityDeps = {
  // Through the notifier's one binding of libc, which its connections use too.
  info: (fd) => pidfdInfoThrough(libcIoctl, fd),
  pids: pidfdPids,
  alive: pidfdAlive,
  read: readProcText,
};

/** The real id (the first field) of a `Uid:` or `Gid:` line of `/proc/PID/status`. */
function realId(status: string, key: "Uid" | "Gid"): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(status);
  return m === null ? undefined : Number(m[1]);
}

/**
 * `args` with the global pid (`facts.globalPid`), uid and gid the pidfd `args.pidfd`
 * proves, and `facts.identity` "pidfd"; or `args` as the kernel's words gave them, with
 * a warning saying why, when the pidfd cannot prove them (it is not the crash's, or the
 * process was killed and reaped meanwhile).
 */
export function withPidfdIdentity(args: NotifyArgs, deps: PidfdIdentityDeps = REAL): NotifyArgs {
  if (args.pidfd === undefined) return args;
  const fd = args.pidfd;
  const warn = (why: string): NotifyArgs => ({
    ...args,
    warnings: [...args.warnings, `the crash's identity is not proved by its pidfd: ${why}`],
  });
  const proved = (globalPid: number, uid: number, gid: number): NotifyArgs => ({
    ...args,
    uid,
    gid,
    facts: { ...args.facts, globalPid, identity: "pidfd" },
  });
  const info = deps.info(fd);
  if (typeof info !== "string" && info.pid > 0) return proved(info.pid, info.uid, info.gid);
  const r = readThroughPidfd(fd, (pid) => deps.read(`/proc/${pid}/status`), deps);
  if (typeof r === "string") return warn(r);
  const { pids, value } = r;
  if (typeof value === "string") return warn(value);
  // Its own pid namespace's pid is the one the kernel's %p named: else fd 3 is not it.
  const own = pids.nsPids.at(-1);
  if (own !== undefined && own !== args.pid) {
    return warn(`fd ${fd} is pid ${own} in its namespace, the crash is pid ${args.pid}`);
  }
  const uid = realId(value.text, "Uid");
  const gid = realId(value.text, "Gid");
  if (uid === undefined || gid === undefined) return warn(`no Uid or Gid in /proc/${pids.pid}`);
  return proved(pids.pid, uid, gid);
}
