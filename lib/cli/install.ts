/**
 * `lttng-trig install` and `lttng-trig uninstall`: take over and give back
 * /proc/sys/kernel/core_pattern (and core_pipe_limit).
 *
 * install remembers what it replaced in STATE_DIR/install.json before it touches the
 * kernel, so that an interrupted install never loses the previous handler; uninstall
 * writes back exactly those bytes. Both read the kernel's files back to check them.
 * The files, the pattern and the state are in lib/install/; these are the commands.
 *
 * @module
 */
import { CommandError, UsageError } from "../errors.ts";
import { resolveStateDir, ROOT_STATE_DIR } from "../paths.ts";
import { DEFAULT_CHAIN_TIMEOUT_MS, planChain, socketRefusal } from "../install/chain_plan.ts";
import { kernelVersion } from "../notify/args.ts";
import { type CommandContext, controlSocketPath } from "./common.ts";
import { type CommandSpec, HELP_OPTION, parse, usageLine } from "./registry.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  defaultKernelFiles,
  type KernelFiles,
  parsePipeLimit,
  readKernelFile,
  sameBytes,
  withoutNewline,
  writeKernelFile,
} from "../install/kernel_files.ts";
import {
  classifyCorePattern,
  CORE_PATTERN_MAX_BYTES,
  corePatternFor,
  patternPathProblem,
  quotePattern,
  stripNewline,
} from "../install/pattern.ts";
import {
  checkCodeTrust,
  checkCoreDir,
  coredumpSocketReady,
  exeProblem,
} from "../install/preflight.ts";
import {
  type InstallState,
  installStatePath,
  previousPatternBytes,
  previousToRemember,
  readInstallState,
  writeInstallState,
} from "../install/state.ts";

/**
 * The core_pipe_limit install sets when it finds 0. A non-zero limit makes the kernel
 * wait for the notifier before it reaps the crashed process, but it also skips (no
 * helper, no core) every crash beyond that many in flight at once: it must exceed the
 * crash storms expected. The notifier holds a crash at most 10 s.
 */
export const INSTALL_PIPE_LIMIT = 64;

/**
 * What `install` and `uninstall` touch besides their arguments: injected by tests, which
 * run without root on a pretend kernel.
 */
export interface InstallCommandOptions {
  /** The kernel's files. @default defaultKernelFiles */
  kernel?: KernelFiles;
  /**
   * The uids root trusts to own install.json, the state directory and --core-dir (which
   * must also not be writable by group or others). @default [0]
   */
  trustedOwners?: readonly number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function requireRoot(uid: number, command: string): void {
  if (uid !== 0) {
    throw new CommandError(
      `${command} writes ${CORE_PATTERN_PATH}, which needs root: run 'sudo lttng-trig ${command}'`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// install

/** `install`'s options and arguments. */
export const INSTALL_SPEC = {
  name: "install",
  summary: "Point core_pattern at the notifier (remembers the old one)",
  description: [
    "Point the kernel's /proc/sys/kernel/core_pattern at the lttng-trig notifier, so that it runs on every core dump:",
    "  |EXE notify --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
    `The --facts argument carries the crash facts that --signal and --exec filters need (the signal, the executable's path); --minimal writes the RFC's bare line instead. EXE is the absolute path of the lttng-trig that runs this command (the launcher bin/lttng-trig, or a compiled binary), or --exe. install checks that the kernel kept the pattern by reading it back, remembers the previous core_pattern and core_pipe_limit in STATE_DIR/install.json for 'lttng-trig uninstall', and sets core_pipe_limit to ${INSTALL_PIPE_LIMIT} when it is 0: the kernel then waits for the notifier before it reaps the crashed process, which stays inspectable. The kernel skips every crash beyond that many at once, so the limit must exceed the crash storms you expect; a non-zero limit is left as it is. Needs root.`,
    "It refuses to replace another crash handler (a '|program' or '@socket' pattern, such as systemd-coredump or apport) unless --chain or --force; a core file pattern such as 'core' is replaced without it (--core-dir keeps cores). Installing again over lttng-trig (to change options) keeps the value remembered the first time. core_pattern is not kept across reboots: see docs/INSTALLING.md.",
  ],
  positionals: [],
  options: [
    {
      name: "chain",
      type: "boolean",
      help:
        "Keep a '|program' crash handler (apport, systemd-coredump, ABRT) working: after its own actions, while the crash is still held, the notifier runs it as the kernel would have (the same arguments from the same crash, the core on its stdin, cwd /, an empty environment). Every crash reaches it, even with no daemon running. install.json keeps its pattern; uninstall restores it. A coredump socket ('@...') cannot be chained.",
      examples: ["lttng-trig install --chain"],
    },
    {
      name: "chain-timeout",
      type: "string",
      value: "SEC",
      help:
        `With --chain: kill the chained handler and release the crash after SEC seconds. Default: ${
          DEFAULT_CHAIN_TIMEOUT_MS / 1000
        }.`,
      examples: ["lttng-trig install --chain --chain-timeout=120"],
    },
    {
      name: "socket",
      type: "boolean",
      help:
        "Use the kernel's coredump socket (Linux 6.16+) instead of the notifier: core_pattern becomes '@RUN_DIR/coredump-lttng-trig' and the daemon receives each core itself, with no helper process. Needs the root daemon running (it must be protected from dumping into its own socket: 'lttng-trig status' says).",
      examples: ["lttng-trig install --socket"],
    },
    {
      name: "run-dir",
      type: "string",
      value: "DIR",
      help: "With --socket: the daemon's run directory. Default: /var/run/lttng.",
      examples: ["lttng-trig install --socket --run-dir=/run/lttng"],
      complete: "dirs",
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
      path: "STATE_DIR/install.json",
      help: "The previous core_pattern and core_pipe_limit, for uninstall.",
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
  if (values.socket) {
    const clash = (["facts", "minimal", "core-dir", "exe"] as const).find((o) =>
      values[o] !== undefined
    );
    if (clash !== undefined) {
      throw new UsageError(
        `--${clash} applies to the notifier, not to --socket (in socket mode the daemon keeps cores: 'lttng-trig daemon --core-dir=DIR')`,
        INSTALL_USAGE,
      );
    }
    if (values.chain) {
      throw new UsageError(
        "--chain applies to the notifier, not to --socket (the kernel connects to one socket only)",
        INSTALL_USAGE,
      );
    }
  } else if (values["run-dir"] !== undefined) {
    throw new UsageError("--run-dir goes with --socket", INSTALL_USAGE);
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, INSTALL_USAGE);
  }
  const chainTimeout = values["chain-timeout"];
  if (chainTimeout !== undefined && !values.chain) {
    throw new UsageError("--chain-timeout goes with --chain", INSTALL_USAGE);
  }
  if (chainTimeout !== undefined && !/^[1-9]\d{0,5}$/.test(chainTimeout)) {
    throw new UsageError(
      `invalid --chain-timeout "${chainTimeout}": a whole number of seconds, 1 to 999999`,
      INSTALL_USAGE,
    );
  }
  minimalClash(values);
  for (const option of ["core-dir", "exe"] as const) {
    const value = values[option];
    if (value === undefined) continue;
    const problem = patternPathProblem(value);
    if (problem !== undefined) {
      throw new UsageError(`invalid --${option} "${value}": ${problem}`, INSTALL_USAGE);
    }
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
  if (values.exe !== undefined) args.exe = values.exe;
  if (values.facts) args.factsRequired = true;
  if (values["state-dir"] !== undefined) args.stateDir = values["state-dir"];
  return args;
}

/** Run `install`; `options` are injected by tests. */
export async function installCommand(
  argv: string[],
  ctx: CommandContext,
  options: InstallCommandOptions = {},
): Promise<number> {
  const args = parseInstallArgs(argv);
  requireRoot(ctx.env.uid, "install");
  const kernel = options.kernel ?? defaultKernelFiles;
  const owners = options.trustedOwners ?? [0];

  const stateDir = resolveStateDir(ctx.env, args.stateDir);
  const statePath = installStatePath(stateDir);
  const currentBytes = await readKernelFile(kernel, CORE_PATTERN_PATH);
  const current = decoder.decode(currentBytes);
  const limitRaw = decoder.decode(await readKernelFile(kernel, CORE_PIPE_LIMIT_PATH));
  const limit = parsePipeLimit(limitRaw);
  const kind = classifyCorePattern(current);
  if (kind.kind === "handler" && !args.force && !args.chain) {
    throw new CommandError(
      current.startsWith("@")
        ? socketRefusal(current, kind.handler)
        : `core_pattern is handled by ${kind.handler} (${
          quotePattern(current)
        }): pass --chain to keep it and run it after lttng-trig, or --force to replace it (uninstall will restore it)`,
    );
  }
  const remembered = await readInstallState(stateDir, { trustedOwners: owners });
  // --chain chains what lttng-trig replaced: over lttng-trig itself, what install.json
  // remembered.
  const plan = args.chain
    ? planChain(
      kind.kind === "ours" && remembered !== undefined ? remembered.previous.corePattern : current,
      args.chainTimeoutMs,
    )
    : {};

  let pattern: string;
  let exe = "";
  if (args.socket) {
    pattern = `@${await coredumpSocketReady(controlSocketPath(ctx.env, args.runDir))}`;
  } else {
    exe = args.exe ?? (ctx.env.get("LTTNG_TRIG_EXE") || Deno.execPath());
    const badExe = await exeProblem(exe);
    if (badExe !== undefined) {
      throw new CommandError(
        `cannot name ${exe} in core_pattern: ${badExe}: run install through the launcher bin/lttng-trig, or pass --exe=PATH`,
      );
    }
    await checkCodeTrust(exe);
    if (plan.chain !== undefined) refuseSplitChain(plan.chain.specifiers, Deno.osRelease());
    const chained = plan.chain === undefined ? {} : {
      chainSpecifiers: plan.chain.specifiers,
      // The notifier looks for install.json in the default state directory.
      ...(stateDir === ROOT_STATE_DIR ? {} : { stateDir }),
    };
    pattern = corePatternFor({ exe, facts: args.facts, coreDir: args.coreDir, ...chained });
    if (encoder.encode(pattern).byteLength > CORE_PATTERN_MAX_BYTES) {
      // Too long: the tid goes first (the report finds the crashing thread in the core).
      pattern = corePatternFor({
        exe,
        facts: args.facts,
        coreDir: args.coreDir,
        ...chained,
        tid: false,
      });
    }
    pattern = minimalFallback(pattern, corePatternFor({ exe, ...chained }), exe, args, ctx);
  }
  const size = encoder.encode(pattern).byteLength;
  if (size > CORE_PATTERN_MAX_BYTES) {
    throw new CommandError(
      `the core_pattern would be ${size} bytes, over the kernel's limit of ${CORE_PATTERN_MAX_BYTES} (it would cut it silently): '${pattern}': ${
        plan.chain === undefined
          ? ""
          : `it passes on what the chained ${plan.chain.program} needs (%${
            [...plan.chain.specifiers].join(" %")
          })${stateDir === ROOT_STATE_DIR ? "" : " and --state-dir"}: `
      }${args.coreDir === undefined ? "" : "use a shorter --core-dir, or "}${
        plan.chain !== undefined && stateDir !== ROOT_STATE_DIR
          ? `use the default state directory ${ROOT_STATE_DIR}, or `
          : ""
      }name lttng-trig by a shorter path, e.g. 'ln -s ${exe} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`,
    );
  }
  if (args.coreDir !== undefined) await checkCoreDir(args.coreDir, owners);

  const newLimit = limit === 0 ? INSTALL_PIPE_LIMIT : limit;
  if (
    kind.kind === "ours" && remembered !== undefined && stripNewline(current) === pattern &&
    newLimit === limit && JSON.stringify(remembered.chain) === JSON.stringify(plan.chain)
  ) {
    ctx.io.out(`lttng-trig is already installed: core_pattern is '${pattern}'.`);
    return 0;
  }

  const { previous, warning } = previousToRemember(
    { bytes: currentBytes, kind, limitRaw },
    { remembered, statePath },
  );
  if (warning !== undefined) ctx.io.err(warning);
  const state: InstallState = {
    version: 1,
    installedAt: new Date().toISOString(),
    corePattern: pattern,
    corePipeLimit: newLimit,
    ...(plan.chain === undefined ? {} : { chain: plan.chain }),
    previous,
  };

  // Remember first: if we are interrupted after writing the kernel, nothing is lost.
  await writeInstallState(stateDir, state, owners);
  try {
    await writeKernelFile(kernel, CORE_PATTERN_PATH, encoder.encode(pattern));
    const back = stripNewline(decoder.decode(await readKernelFile(kernel, CORE_PATTERN_PATH)));
    if (back !== pattern) {
      throw new CommandError(`the kernel kept ${quotePattern(back)} instead of '${pattern}'`);
    }
    if (newLimit !== limit) {
      await writeKernelFile(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(String(newLimit)));
      const backLimit = decoder.decode(await readKernelFile(kernel, CORE_PIPE_LIMIT_PATH)).trim();
      if (backLimit !== String(newLimit)) {
        throw new CommandError(
          `core_pipe_limit reads back as ${backLimit} instead of ${newLimit}`,
        );
      }
    }
  } catch (err) {
    const restored = await restoreAfterFailure(kernel, currentBytes, limitRaw);
    if (remembered !== undefined) {
      await writeInstallState(stateDir, remembered, owners).catch(() => {});
    } else {
      await Deno.remove(statePath).catch(() => {});
    }
    throw new CommandError(
      `install failed: ${(err as Error).message}: ${
        restored
          ? `core_pattern is back to ${quotePattern(current)}`
          : `could not put back core_pattern ${
            quotePattern(current)
          }: write it to ${CORE_PATTERN_PATH} by hand`
      }`,
      { cause: err },
    );
  }

  ctx.io.out(`Installed: core_pattern is now '${pattern}'.`);
  if (plan.chain !== undefined) {
    ctx.io.out(
      `Chained: after its own actions, lttng-trig runs ${plan.chain.program} on every crash as the kernel did (${
        quotePattern(state.previous.corePattern)
      }), and holds the crash until it finishes (at most ${plan.chain.timeoutMs / 1000} s).`,
    );
  } else if (kind.kind === "handler") {
    ctx.io.out(`Replaced ${kind.handler} (${quotePattern(current)}).`);
  }
  if (plan.note !== undefined) ctx.io.out(`${plan.note}.`);
  ctx.io.out(
    `Previous core_pattern ${
      quotePattern(state.previous.corePattern)
    } is remembered in ${statePath}: 'lttng-trig uninstall' restores it.`,
  );
  if (newLimit !== limit) {
    ctx.io.out(
      `core_pipe_limit: ${limit} -> ${newLimit} (the kernel waits for the notifier; crashes beyond ${newLimit} at once are skipped).`,
    );
  }
  ctx.io.out("Check with 'lttng-trig status'.");
  return 0;
}

/** `--minimal` goes with neither `--facts` nor `--core-dir` (which needs the facts). */
function minimalClash(values: { minimal?: boolean; facts?: boolean; "core-dir"?: string }): void {
  if (!values.minimal) return;
  const clash = values.facts ? "--facts" : values["core-dir"] !== undefined ? "--core-dir" : "";
  if (clash !== "") {
    throw new UsageError(
      `--minimal goes without ${clash} (${clash} passes the crash facts)`,
      INSTALL_USAGE,
    );
  }
}

/**
 * Before Linux 5.3 the kernel splits `%E` and `%f` at spaces into several arguments: a
 * chained handler's path argument could then not be told from the words after it (or
 * become an option of the notifier), so such a chain is refused there.
 */
function refuseSplitChain(specifiers: string, release: string): void {
  const version = kernelVersion(release);
  const splits = version === undefined || version[0] < 5 || (version[0] === 5 && version[1] < 3);
  const risky = [...specifiers].filter((s) => s === "E" || s === "f");
  if (splits && risky.length > 0) {
    throw new CommandError(
      `the chained handler uses ${
        risky.map((s) => `%${s}`).join(" and ")
      }, which this kernel (${release}) splits at spaces before Linux 5.3: lttng-trig cannot pass it on safely: use --force to replace the handler, or a kernel of 5.3 or later`,
    );
  }
}

/**
 * The pattern to write: the default line with the crash facts, or, when it is over the
 * kernel's limit and the facts were not asked for explicitly, the bare line, with a warning
 * saying what the triggers lose.
 */
function minimalFallback(
  pattern: string,
  bare: string,
  exe: string,
  args: InstallArgs,
  ctx: CommandContext,
): string {
  const size = encoder.encode(pattern).byteLength;
  if (size <= CORE_PATTERN_MAX_BYTES || !args.facts || args.factsRequired) return pattern;
  if (args.coreDir !== undefined) return pattern;
  if (encoder.encode(bare).byteLength > CORE_PATTERN_MAX_BYTES) return pattern;
  ctx.io.err(
    `Warning: the core_pattern with the crash facts would be ${size} bytes, over the kernel's limit of ${CORE_PATTERN_MAX_BYTES}: installing it without them ('${bare}'): triggers with --signal will never fire, and --exec sees only the 15-character exec name: to keep the facts, name lttng-trig by a shorter path, e.g. 'ln -s ${exe} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`,
  );
  return bare;
}

async function restoreAfterFailure(
  kernel: KernelFiles,
  patternBytes: Uint8Array,
  limitRaw: string,
): Promise<boolean> {
  try {
    await writeKernelFile(kernel, CORE_PATTERN_PATH, withoutNewline(patternBytes));
    await writeKernelFile(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(limitRaw.trim()));
    return sameBytes(await kernel.read(CORE_PATTERN_PATH), patternBytes);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// uninstall

/** `uninstall`'s options and arguments. */
export const UNINSTALL_SPEC = {
  name: "uninstall",
  summary: "Restore the core_pattern that install replaced",
  description: [
    "Give /proc/sys/kernel/core_pattern back: write the core_pattern and core_pipe_limit that 'lttng-trig install' remembered in STATE_DIR/install.json, exactly as they were, check them by reading them back, and forget them (remove install.json). Needs root.",
    "If core_pattern no longer runs lttng-trig (someone changed it since install), uninstall refuses to overwrite it unless --force.",
  ],
  positionals: [],
  options: [
    {
      name: "force",
      type: "boolean",
      help: "Restore the remembered values even though core_pattern was changed since install.",
      examples: ["lttng-trig uninstall --force"],
    },
    {
      name: "state-dir",
      type: "string",
      value: "DIR",
      help: "The state directory install used (/var/lib/lttng-trig for root).",
      examples: ["lttng-trig uninstall --state-dir=/srv/lttng-trig"],
      complete: "dirs",
    },
    HELP_OPTION,
  ],
  exitStatus: [[0, "restored"], [1, "not installed, refused or failed"], [2, "usage error"]],
  files: [
    { path: "/proc/sys/kernel/core_pattern", help: "What the kernel does with a core dump." },
    { path: "STATE_DIR/install.json", help: "What install remembered." },
  ],
  seeAlso: ["lttng-trig-install(1)"],
} as const satisfies CommandSpec;

/** Usage line of `uninstall`. */
export const UNINSTALL_USAGE = usageLine(UNINSTALL_SPEC);

/** Run `uninstall`; `options` are injected by tests. */
export async function uninstallCommand(
  argv: string[],
  ctx: CommandContext,
  options: InstallCommandOptions = {},
): Promise<number> {
  const { values, positionals } = parse(UNINSTALL_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, UNINSTALL_USAGE);
  }
  requireRoot(ctx.env.uid, "uninstall");
  const kernel = options.kernel ?? defaultKernelFiles;
  const owners = options.trustedOwners ?? [0];
  const stateDir = resolveStateDir(ctx.env, values["state-dir"]);
  const statePath = installStatePath(stateDir);
  const state = await readInstallState(stateDir, { trustedOwners: owners });
  const current = decoder.decode(await readKernelFile(kernel, CORE_PATTERN_PATH));
  const kind = classifyCorePattern(current);
  if (state === undefined) {
    throw new CommandError(
      `lttng-trig is not installed (no ${statePath})${
        kind.kind === "ours"
          ? `: core_pattern runs lttng-trig, but not by 'lttng-trig install' with this state directory: write the pattern you want to ${CORE_PATTERN_PATH}, or pass the --state-dir that install used`
          : ""
      }`,
    );
  }
  const previous = previousPatternBytes(state);
  const shownPrevious = quotePattern(state.previous.corePattern);
  if (kind.kind !== "ours" && !values.force) {
    throw new CommandError(
      `core_pattern no longer runs lttng-trig: it is ${
        quotePattern(current)
      } (changed since the install of ${state.installedAt}): pass --force to restore ${shownPrevious} anyway, or remove ${statePath} to forget it`,
    );
  }

  await writeKernelFile(kernel, CORE_PATTERN_PATH, withoutNewline(previous));
  const back = await readKernelFile(kernel, CORE_PATTERN_PATH);
  if (!sameBytes(back, previous)) {
    throw new CommandError(
      `core_pattern reads back as ${
        quotePattern(decoder.decode(back))
      } instead of ${shownPrevious}: ${statePath} is kept`,
    );
  }
  const limitText = state.previous.corePipeLimit.trim();
  await writeKernelFile(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(limitText));
  const backLimit = decoder.decode(await readKernelFile(kernel, CORE_PIPE_LIMIT_PATH)).trim();
  if (backLimit !== limitText) {
    throw new CommandError(
      `core_pipe_limit reads back as ${backLimit} instead of ${limitText}: ${statePath} is kept`,
    );
  }
  try {
    await Deno.remove(statePath);
  } catch (err) {
    throw new CommandError(
      `core_pattern is restored, but ${statePath} cannot be removed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  ctx.io.out(
    `Uninstalled: core_pattern is back to ${shownPrevious}, core_pipe_limit to ${limitText}.`,
  );
  return 0;
}
