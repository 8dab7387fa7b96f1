/**
 * The notifier's command-line declaration and help: here, beside it, so that
 * `notify --help` loads nothing of the other commands (only the registry, to render it).
 *
 * @module
 */
import { type CommandSpec, renderHelp } from "../core/registry.ts";
import {
  LIMITS_FILE,
  NOTIFIER_CONFIG_NAME,
  NOTIFIER_LOG_NAME,
  NOTIFY_SOCKET_NAME,
  ROOT_RUN_DIR,
  ROOT_STATE_DIR,
} from "../core/paths.ts";
import { DEFAULT_HOLD_MS, HELD_PER_UID, USER_HOLD_MS } from "./notifier.ts";
import {
  DEFAULT_CORE_CAP_BYTES,
  DEFAULT_CORE_MAX_BYTES,
  DEFAULT_KEEP_FREE_SHARE,
  DEFAULT_MAX_USE_SHARE,
} from "./core_vacuum.ts";

const gib = (bytes: number) => `${bytes / 1024 ** 3} GiB`;
const percent = (share: number) => `${Math.round(share * 100)} %`;

/** `notify`'s options and arguments, for its help, completion and man page. */
export const NOTIFY_SPEC = {
  name: "notify",
  summary: "The core dump notifier (run by the kernel from core_pattern)",
  description: [
    "The core dump notifier, run by the kernel from /proc/sys/kernel/core_pattern:",
    "  |/usr/bin/lttng-trig notify %p %u %g %e %h",
    `It sends the crash to the root daemon and to the crashing user's own daemon (if one runs, in a socket that user owns, served by that user), holds the dump until they reply (at most --timeout; the user's daemon at most ${USER_HOLD_MS} ms; past ${HELD_PER_UID} crashes of one user held at once, not at all: such a crash is released at once, and recorded so) so that the snapshot still holds the process's last events, then releases it. PID UID GID EXEC HOST are taken as they are: an exec name such as --help stays data. Failures go to STATE_DIR/${NOTIFIER_LOG_NAME}, shown by 'lttng-trig status'. 'lttng-trig install' writes the line for you.`,
  ],
  positionals: [
    { name: "PID", help: "%p: the crashed process's pid, in its pid namespace." },
    { name: "UID", help: "%u: its real uid." },
    { name: "GID", help: "%g: its real gid." },
    { name: "EXEC", help: "%e: its exec name (comm)." },
    { name: "HOST", help: "%h: the hostname." },
  ],
  groups: { Options: { help: "only in the --name=value form, before the five values" } },
  options: [
    {
      name: "run-dir",
      type: "string",
      value: "DIR",
      help: `The root daemon's run directory. Default: ${ROOT_RUN_DIR}.`,
      examples: ["|/usr/bin/lttng-trig notify --run-dir=/run/lttng %p %u %g %e %h"],
      complete: "dirs",
    },
    {
      name: "state-dir",
      type: "string",
      value: "DIR",
      help:
        `Where failures are journaled, and where ${NOTIFIER_CONFIG_NAME} names the chained handler (install --chain). Default: ${ROOT_STATE_DIR}.`,
      examples: ["|/usr/bin/lttng-trig notify --state-dir=/srv/lttng-trig %p %u %g %e %h"],
      complete: "dirs",
    },
    {
      name: "timeout",
      type: "string",
      value: "MS",
      help:
        `Hold the dump at most MS milliseconds waiting for replies. Default: ${DEFAULT_HOLD_MS}.`,
      examples: ["|/usr/bin/lttng-trig notify --timeout=3000 %p %u %g %e %h"],
    },
    {
      name: "tid",
      type: "string",
      value: "TID",
      help:
        "The crashing thread's tid, written %i: the daemon's crash report shows that thread's backtrace and last events. Before --facts, which comes last.",
      examples: ["|/usr/bin/lttng-trig notify --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h"],
    },
    {
      name: "facts",
      type: "string",
      value: "FACTS",
      help:
        "The kernel's richer facts, written %P:%s:%t:%c:%d:%E (global pid, signal, time, core limit, dump mode, executable path): they make --signal and path --exec filters work. On Linux 6.16 and later %F (the kernel's pidfd of the crashed process) stands before %E: the crash's global pid, uid and gid are then read through it.",
      examples: ["|/usr/bin/lttng-trig notify --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h"],
    },
    {
      name: "core-dir",
      type: "string",
      value: "DIR",
      help:
        `Keep each core in DIR, compressed with zstd, after the replies, within the limits of DIR/${LIMITS_FILE} (lttng-trig-core-limits(5)): by default a core of at most ${
          gib(DEFAULT_CORE_MAX_BYTES)
        }, all cores within ${percent(DEFAULT_MAX_USE_SHARE)} of the filesystem and leaving ${
          percent(DEFAULT_KEEP_FREE_SHARE)
        } free (each share at most ${
          gib(DEFAULT_CORE_CAP_BYTES)
        }); the crash's ulimit -c is honoured when --facts passes it, unless install --core-limit=ignore.`,
      examples: ["|/usr/bin/lttng-trig notify --core-dir=/var/crash/lttng-trig %p %u %g %e %h"],
      complete: "dirs",
    },
    {
      name: "core-limit",
      type: "string",
      value: "honour|ignore",
      help:
        "With --core-dir: honour (the default) keeps no core of a process whose ulimit -c is 0 and cuts a core at that limit; ignore keeps every core whatever its ulimit -c, as systemd-coredump does.",
      examples: [
        "|/usr/bin/lttng-trig notify --core-dir=/var/crash/lttng-trig --core-limit=ignore --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
      ],
    },
  ],
  exitStatus: [
    [0, "every daemon asked replied"],
    [1, "a failure, journaled (the dump is released either way)"],
    [2, "no crash given"],
  ],
  files: [
    { path: `RUN_DIR/${NOTIFY_SOCKET_NAME}`, help: "Where the daemons listen for crashes." },
    { path: `STATE_DIR/${NOTIFIER_LOG_NAME}`, help: "The journal of failures." },
    {
      path: `STATE_DIR/${NOTIFIER_CONFIG_NAME}`,
      help: "The chained crash handler, written by install --chain.",
    },
  ],
  seeAlso: ["lttng-trig-install(1)", "lttng-trig-daemon(1)"],
  rawArgs: true,
} as const satisfies CommandSpec;

/** `lttng-trig notify --help`. */
export const NOTIFY_HELP: string = renderHelp(NOTIFY_SPEC);
