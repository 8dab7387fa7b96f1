/**
 * The facts of one crash, as the kernel, the notifier and the coredump socket tell them:
 * the vocabulary that the trigger model, the policy, the protocol's records and the daemon
 * share.
 *
 * @module
 */

/**
 * The facts of one crash as the daemon sees them.
 *
 * @example
 * ```ts
 * import type { CrashFacts } from "./crash_facts.ts";
 * // What the RFC's notification carries; the other facts are optional.
 * const facts: CrashFacts = { pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME" };
 * ```
 */
export interface CrashFacts {
  /** Pid (`%p`). */
  pid: number;
  /**
   * Uid (`%u`): the global uid (in the initial user namespace). `0xffffffff`
   * (`(uid_t)-1`, which no `--uid` filter can name) when it is not known.
   */
  uid: number;
  /** Gid (`%g`), global; `0xffffffff` when not known. */
  gid: number;
  /**
   * `false` when the crash's global uid could not be proved (coredump-socket mode, a
   * process whose `/proc/PID` could not be proved to be it): `uid` and `gid` are then
   * `0xffffffff` and `uidNote` says what the core named. Absent when proved.
   */
  uidVerified?: false;
  /** Where the uid came from when it is not simply the kernel's `%u`, or why it is unknown. */
  uidNote?: string;
  /**
   * `pidfd`: the global pid, uid and gid were read through the kernel's pidfd of the
   * crashed process (pipe mode's `%F`, the coredump socket's peer), and proved its own.
   */
  identity?: "pidfd";
  /**
   * Socket mode: why the core told only part of the facts (another byte order, an
   * NT_PRPSINFO missing or of a layout not known): the pid it could not tell is 0, the
   * exec name empty, the uid and gid `0xffffffff`. Absent when the core told them all.
   */
  coreNote?: string;
  /** Exec name (`%e`). */
  execName: string;
  /** Hostname (`%h`); empty when not known. */
  hostname: string;
  /** Why the hostname is not the crashed process's own, or is unknown (socket mode). */
  hostnameNote?: string;
  /** Signal number, when known. */
  signal?: number;
  /** Path of the executable, when known. */
  exePath?: string;
  /** Pid in the initial pid namespace (`%P`), when known. */
  globalPid?: number;
  /** Time of the crash (`%t`, seconds since the epoch), when known. */
  crashTime?: number;
  /** RLIMIT_CORE of the crashed process (`%c`), when known. */
  coreLimit?: number | "unlimited";
  /** Dump mode (`%d`), when known. */
  dumpMode?: number;
  /** Command line, when known. */
  cmdline?: string[];
  /**
   * The crashing thread's tid, in the crashed process's pid namespace, when known: `%i`
   * (pipe mode, `notify --tid=%i`) or the core's first NT_PRSTATUS note (socket mode).
   */
  tid?: number;
  /**
   * The notifier released the crash at once, without waiting for the actions, keeping the
   * core or running the chained handler: its user (a subordinate uid counts as its owner)
   * held its share of crashes already. Absent when the crash was held.
   */
  released?: true;
  /**
   * When the kernel's process connector announced the crash (ISO 8601), on the early path
   * (lib/daemon/early_path.ts): the daemon's actions started then.
   */
  connectorAt?: string;
  /** When the crash's helper (the notifier, or the coredump socket) joined it (ISO 8601). */
  helperAt?: string;
}
