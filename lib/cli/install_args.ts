/**
 * What `lttng-trig install` takes: its options, declared once for the registry (parsing,
 * help, completion, man pages), and its arguments parsed into a typed object (pure). The
 * command is in install.ts.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { DEFAULT_CHAIN_TIMEOUT_MS } from "../install/chain_plan.ts";
import { patternPathProblem } from "../install/pattern.ts";
import { type CommandSpec, HELP_OPTION, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";
import { INSTALL_STATE_NAME, NOTIFIER_CONFIG_NAME } from "../core/paths.ts";

/**
 * The core_pipe_limit install sets when it finds 0. A non-zero limit makes the kernel
 * wait for the notifier before it reaps the crashed process, but it also skips (no
 * helper, no core) every crash beyond that many in flight at once: it must exceed the
 * crash storms expected. The notifier holds a crash at most 10 s.
 */
export const INSTALL_PIPE_LIMIT = 64;

/** An option of the notifier's, which `--socket` (no notifier) refuses. */
function notSocket(option: string) {
  return {
    option,
    error:
      `--${option} applies to the notifier, not to --socket (in socket mode the daemon keeps cores: 'lttng-trig daemon --core-dir=DIR')`,
  };
}

/** `install`'s options and arguments. */
export const INSTALL_SPEC = {
  name: "install",
  summary: "Point core_pattern at the notifier (remembers the old one)",
  description: [
    "Point the kernel's /proc/sys/kernel/core_pattern at the lttng-trig notifier, so that it runs on every core dump:",
    "  |EXE notify --tid=%i --facts=%P:%s:%t:%c:%d:%F:%E %p %u %g %e %h",
    `The --facts argument carries the crash facts that --signal and --exec filters need (the signal, the executable's path), and, on Linux 6.16 and later, the kernel's pidfd of the crashed process (%F), through which the notifier takes the crash's pid, uid and gid; --minimal writes the RFC's bare line instead. EXE is the absolute path of the lttng-trig that runs this command (the launcher bin/lttng-trig, or a compiled binary), or --exe. install checks that the kernel kept the pattern by reading it back, remembers the previous core_pattern and core_pipe_limit in STATE_DIR/install.json for 'lttng-trig uninstall', and sets core_pipe_limit to ${INSTALL_PIPE_LIMIT} when it is 0: the kernel then waits for the notifier before it reaps the crashed process, which stays inspectable. The kernel skips every crash beyond that many at once, so the limit must exceed the crash storms you expect; a non-zero limit is left as it is. Needs root.`,
    "It refuses to replace another crash handler (a '|program' or '@socket' pattern, such as systemd-coredump or apport) unless --chain or --force; a core file pattern such as 'core' is replaced without it (--core-dir keeps cores). Installing again over lttng-trig (to change options) keeps the value remembered the first time. core_pattern is not kept across reboots: see docs/INSTALLING.md.",
  ],
  positionals: [],
  options: [
    {
      name: "chain",
      type: "boolean",
      help:
        `Keep a '|program' crash handler (apport, systemd-coredump, ABRT) working: after its own actions, while the crash is still held, the notifier runs it as the kernel would have (the same arguments from the same crash, the core on its stdin, cwd /, an empty environment). Every crash reaches it, even with no daemon running. ${INSTALL_STATE_NAME} keeps its pattern, ${NOTIFIER_CONFIG_NAME} tells the notifier how to run it; uninstall restores it. A coredump socket ('@...') cannot be chained.`,
      examples: ["lttng-trig install --chain"],
    },
    {
      name: "chain-timeout",
      type: "string",
      value: "SEC",
      help: `kill the chained handler and release the crash after SEC seconds. Default: ${
        DEFAULT_CHAIN_TIMEOUT_MS / 1000
      }.`,
      examples: ["lttng-trig install --chain --chain-timeout=120"],
      depends: ["chain"],
    },
    {
      name: "socket",
      type: "boolean",
      help:
        "Use the kernel's coredump socket (Linux 6.16+) instead of the notifier: core_pattern becomes '@RUN_DIR/coredump-lttng-trig' and the daemon receives each core itself, with no helper process. Needs the root daemon running (it must be protected from dumping into its own socket: 'lttng-trig status' says).",
      examples: ["lttng-trig install --socket"],
      conflicts: [
        ...["facts", "minimal", "core-dir", "core-limit", "exe"].map(notSocket),
        {
          option: "chain",
          error:
            "--chain applies to the notifier, not to --socket (the kernel connects to one socket only)",
        },
      ],
    },
    {
      name: "run-dir",
      type: "string",
      value: "DIR",
      help: "the daemon's run directory. Default: /var/run/lttng.",
      examples: ["lttng-trig install --socket --run-dir=/run/lttng"],
      complete: "dirs",
      depends: ["socket"],
    },
    {
      name: "force",
      type: "boolean",
      help: "Replace another crash handler; uninstall restores it.",
      examples: ["lttng-trig install --force"],
    },
    {
      name: "facts",
      type: "boolean",
      help:
        "Pass the kernel's crash facts to the notifier: global pid, signal, time, core size limit, dump mode and the executable's path (%P %s %t %c %d %E). The default; with it given, install refuses a pattern over 127 bytes instead of falling back to --minimal.",
      examples: ["lttng-trig install --facts"],
    },
    {
      name: "minimal",
      type: "boolean",
      help:
        "Write the RFC's bare line, '|EXE notify %p %u %g %e %h', without the crash facts: triggers with --signal then never fire, and --exec sees the exec name only (at most 15 characters).",
      examples: ["lttng-trig install --minimal"],
      conflicts: ["facts", "core-dir"].map((option) => ({
        option,
        error: `--minimal goes without --${option} (--${option} passes the crash facts)`,
      })),
    },
    {
      name: "core-dir",
      type: "string",
      value: "DIR",
      help:
        "Have the notifier save each core in DIR, an absolute path to a directory that only root can write. Implies --facts.",
      examples: ["lttng-trig install --core-dir=/var/crash/lttng-trig"],
      complete: "dirs",
    },
    {
      name: "core-limit",
      type: "string",
      value: "honour|ignore",
      help:
        "what the crash's core size limit (ulimit -c) does. honour, the default, keeps no core of a process whose ulimit -c is 0 (the default of most shells and services) and cuts a core at its limit; ignore keeps every core whatever its limit, as systemd-coredump does (its pattern passes a huge number where %c would be). Either way DIR's own limits apply.",
      examples: ["lttng-trig install --core-dir=/var/crash/lttng-trig --core-limit=ignore"],
      complete: { words: ["honour", "ignore"] },
      depends: ["core-dir"],
    },
    {
      name: "exe",
      type: "string",
      value: "PATH",
      help:
        "Name lttng-trig by PATH in the pattern: an executable file named lttng-trig, such as a short symlink to the launcher when the pattern would be longer than the kernel's 127 bytes.",
      examples: [
        "ln -s /opt/lttng-trig/bin/lttng-trig /usr/bin/lttng-trig",
        "lttng-trig install --exe=/usr/bin/lttng-trig",
      ],
      complete: "files",
    },
    {
      name: "state-dir",
      type: "string",
      value: "DIR",
      help:
        "Where to remember the previous values (/var/lib/lttng-trig for root). uninstall needs the same one.",
      examples: ["lttng-trig install --state-dir=/srv/lttng-trig"],
      complete: "dirs",
    },
    HELP_OPTION,
  ],
  exitStatus: [
    [0, "installed"],
    [1, "refused or failed (core_pattern is then left as it was)"],
    [2, "usage error"],
  ],
  files: [
    { path: "/proc/sys/kernel/core_pattern", help: "What the kernel does with a core dump." },
    {
      path: "/proc/sys/kernel/core_pipe_limit",
      help: "How many crashes the kernel pipes to helpers at once.",
    },
    {
      path: `STATE_DIR/${INSTALL_STATE_NAME}`,
      help: "The previous core_pattern and core_pipe_limit, for uninstall.",
    },
    {
      path: `STATE_DIR/${NOTIFIER_CONFIG_NAME}`,
      help: "What the notifier reads on a crash: the chained handler (--chain).",
    },
  ],
  seeAlso: ["lttng-trig-uninstall(1)", "lttng-trig-status(1)", "lttng-trig-notify(1)"],
} as const satisfies CommandSpec;

/** Usage line of `install`. */
export const INSTALL_USAGE = usageLine(INSTALL_SPEC);

/** Options of `install`, from its command line. */
export interface InstallArgs {
  /** `--force`. */
  force: boolean;
  /** `--chain`: run the replaced pipe handler after lttng-trig's actions. */
  chain: boolean;
  /** `--chain-timeout`, in ms. */
  chainTimeoutMs: number;
  /** Pass the crash facts: the default, unless `--minimal`. */
  facts: boolean;
  /** `--facts` given explicitly: refuse rather than fall back when the line is too long. */
  factsRequired?: boolean;
  /** `--core-dir`. */
  coreDir?: string;
  /** `--core-limit`, with `--core-dir`. */
  coreLimit?: "honour" | "ignore";
  /** `--exe`. */
  exe?: string;
  /** `--state-dir`. */
  stateDir?: string;
  /** `--socket`: the kernel's coredump socket mode instead of the notifier. */
  socket: boolean;
  /** `--run-dir`: the daemon's, for `--socket`. */
  runDir?: string;
}

/** Parse `install`'s arguments (pure). */
export function parseInstallArgs(argv: string[]): InstallArgs {
  const { values, positionals } = parse(INSTALL_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, INSTALL_USAGE);
  }
  const chainTimeout = values["chain-timeout"];
  if (chainTimeout !== undefined && !/^[1-9]\d{0,5}$/.test(chainTimeout)) {
    throw new UsageError(
      `invalid --chain-timeout "${chainTimeout}": a whole number of seconds, 1 to 999999`,
      INSTALL_USAGE,
    );
  }
  for (const option of ["core-dir", "exe"] as const) {
    const value = values[option];
    if (value === undefined) continue;
    const problem = patternPathProblem(value);
    if (problem !== undefined) {
      throw new UsageError(`invalid --${option} "${value}": ${problem}`, INSTALL_USAGE);
    }
  }
  const coreLimit = values["core-limit"];
  if (coreLimit !== undefined && coreLimit !== "honour" && coreLimit !== "ignore") {
    throw new UsageError(
      `invalid --core-limit "${coreLimit}": honour or ignore`,
      INSTALL_USAGE,
    );
  }
  const args: InstallArgs = {
    force: values.force ?? false,
    chain: values.chain ?? false,
    chainTimeoutMs: chainTimeout === undefined
      ? DEFAULT_CHAIN_TIMEOUT_MS
      : Number(chainTimeout) * 1000,
    facts: !values.minimal,
    socket: values.socket ?? false,
  };
  if (values["run-dir"] !== undefined) args.runDir = values["run-dir"];
  if (values["core-dir"] !== undefined) args.coreDir = values["core-dir"].replace(/(.)\/+$/, "$1");
  if (coreLimit !== undefined) args.coreLimit = coreLimit;
  if (values.exe !== undefined) args.exe = values.exe;
  if (values.facts) args.factsRequired = true;
  if (values["state-dir"] !== undefined) args.stateDir = values["state-dir"];
  return args;
}
