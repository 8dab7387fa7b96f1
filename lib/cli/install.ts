/**
 * `lttng-trig install`: take over /proc/sys/kernel/core_pattern (and core_pipe_limit);
 * uninstall.ts gives them back.
 *
 * install remembers what it replaced in STATE_DIR/install.json before it touches the
 * kernel, so that an interrupted install never loses the previous handler; uninstall
 * writes back exactly those bytes. Both read the kernel's files back to check them.
 * The files, the pattern and the state are in lib/install/; its options in
 * install_args.ts.
 *
 * @module
 */
import { ControlClient } from "../client/client.ts";
import { CommandError } from "../core/errors.ts";
import { controlSocketPath, resolveStateDir, ROOT_STATE_DIR } from "../core/paths.ts";
import { planChain, socketRefusal } from "../install/chain_plan.ts";
import { kernelVersion } from "../core/kernel_version.ts";
import type { CommandContext } from "./common.ts";
import { INSTALL_PIPE_LIMIT, type InstallArgs, parseInstallArgs } from "./install_args.ts";

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
  type CorePatternOptions,
  kernelHasPidfdSpecifier,
  quotePattern,
  stripNewline,
} from "../install/pattern.ts";
import { coreKeepingOf, coreKeepingText } from "../install/core_limit.ts";
import { SOCKET_DOWNTIME_NOTE } from "../install/socket_hold.ts";
import {
  checkCodeTrust,
  checkCoreDir,
  coredumpSocketReady,
  exeProblem,
} from "../install/preflight.ts";
import {
  hasNotifierConfig,
  type InstallState,
  installStatePath,
  previousToRemember,
  readInstallState,
  removeInstallState,
  writeInstallState,
  writeNotifierConfig,
} from "../install/state.ts";

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

/** Refuse to run `command` (install, uninstall) as another user than root. */
export function requireRoot(uid: number, command: string): void {
  if (uid !== 0) {
    throw new CommandError(
      `${command} writes ${CORE_PATTERN_PATH}, which needs root: run 'sudo lttng-trig ${command}'`,
    );
  }
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
    const control = new ControlClient(controlSocketPath(ctx.env, args.runDir));
    pattern = `@${await coredumpSocketReady(() => control.status())}`;
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
      // The notifier looks for notifier.json in the default state directory.
      ...(stateDir === ROOT_STATE_DIR ? {} : { stateDir }),
    };
    pattern = fittingPattern(
      { exe, coreDir: args.coreDir, coreLimit: args.coreLimit, ...chained },
      args,
      exe,
      ctx,
    );
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
    // Installed by a version before notifier.json: write it now (the notifier reads
    // install.json's chain meanwhile).
    if (!(await hasNotifierConfig(stateDir))) {
      await writeNotifierConfig(stateDir, remembered.chain, owners);
    }
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
      await removeInstallState(stateDir).catch(() => {});
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
  if (args.socket) ctx.io.out(`${SOCKET_DOWNTIME_NOTE}.`);
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
  const keeping = coreKeepingOf(pattern);
  if (keeping !== undefined) ctx.io.out(`Cores: ${coreKeepingText(keeping)}.`);
  ctx.io.out("Check with 'lttng-trig status'.");
  return 0;
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
 * The pattern to write, the richest that fits in the kernel's 127 bytes: the whole line
 * (with the kernel's pidfd of the crash, `%F`, where the kernel has it); then without
 * the thread id (the crash report finds the crashing thread in the core); then without
 * the pidfd (the crash's ids are then the kernel's words `%p %u %g`); then, with a
 * warning saying what the triggers lose, without the crash facts, unless they were asked
 * for (`--facts`, `--core-dir`). When none fits, the line without the thread id and the
 * pidfd, which install then refuses, saying why.
 */
function fittingPattern(
  base: Omit<CorePatternOptions, "facts" | "tid" | "pidfd">,
  args: InstallArgs,
  exe: string,
  ctx: CommandContext,
): string {
  const fits = (p: string) => encoder.encode(p).byteLength <= CORE_PATTERN_MAX_BYTES;
  const pidfd = kernelHasPidfdSpecifier(Deno.osRelease());
  const full = corePatternFor({ ...base, facts: args.facts, pidfd });
  const noTid = corePatternFor({ ...base, facts: args.facts, tid: false, pidfd });
  const noPidfd = corePatternFor({ ...base, facts: args.facts, tid: false });
  const bare = corePatternFor({ ...base, coreDir: undefined });
  const mayDropFacts = args.facts && !args.factsRequired && args.coreDir === undefined;
  const chosen = [full, noTid, noPidfd, ...(mayDropFacts ? [bare] : [])].find(fits) ?? noPidfd;
  const shorter = `${
    base.coreDir === undefined ? "" : "use a shorter --core-dir, or "
  }name lttng-trig by a shorter path, e.g. 'ln -s ${exe} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`;
  // Warnings only for a line that is written: one that does not fit is refused, saying why.
  if (!fits(chosen)) return chosen;
  if ((chosen === noTid || chosen === noPidfd) && noTid !== full) {
    ctx.io.err(
      `Warning: the core_pattern with the crashing thread's id would be ${
        encoder.encode(full).byteLength
      } bytes, over the kernel's limit of ${CORE_PATTERN_MAX_BYTES}: installing it without --tid=%i ('${chosen}'): the crash report then finds the crashing thread in the core (the kernel writes it first), and a crash whose core is not kept names no thread, so that show gives the process's last events instead of the thread's: to keep the thread id, ${shorter}`,
    );
  }
  if (chosen === noPidfd && noPidfd !== noTid) {
    ctx.io.err(
      `Warning: the core_pattern with the kernel's pidfd of the crash would be ${
        encoder.encode(noTid).byteLength
      } bytes, over the kernel's limit of ${CORE_PATTERN_MAX_BYTES}: installing it without %F ('${chosen}'): the notifier then names the crash by the kernel's pid and ids (%P %u %g) rather than a pidfd: to keep it, ${shorter}`,
    );
  }
  if (chosen === bare && bare !== noPidfd) {
    ctx.io.err(
      `Warning: the core_pattern with the crash facts would be ${
        encoder.encode(noPidfd).byteLength
      } bytes, over the kernel's limit of ${CORE_PATTERN_MAX_BYTES}: installing it without them ('${bare}'): triggers with --signal will never fire, and --exec sees only the 15-character exec name: to keep the facts, ${shorter}`,
    );
  }
  return chosen;
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
