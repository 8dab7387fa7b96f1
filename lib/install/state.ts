/**
 * STATE_DIR/install.json: what `install` replaced in the kernel, written before the kernel
 * is touched so that an interrupted install never loses the previous handler, and read
 * back by `uninstall` (which writes it into the kernel, as root) and `status`. Beside it,
 * STATE_DIR/notifier.json (lib/core/notifier_config.ts): what the notifier reads on a
 * crash, written and removed with it.
 *
 * @module
 */
import { CommandError } from "../core/errors.ts";
import { trustRefusal } from "../core/ownership.ts";
import { INSTALL_STATE_NAME, NOTIFIER_CONFIG_NAME } from "../core/paths.ts";
import { type ChainState, isChainState, type NotifierConfig } from "../core/notifier_config.ts";
import { type CorePatternKind, KERNEL_DEFAULT_CORE_PATTERN, quotePattern } from "./pattern.ts";

/**
 * STATE_DIR/install.json: what install replaced, written before the kernel is touched.
 */
export interface InstallState {
  /** Format version. */
  version: 1;
  /** When install ran (ISO 8601). */
  installedAt: string;
  /** The pattern install wrote. */
  corePattern: string;
  /** The core_pipe_limit in force after install. */
  corePipeLimit: number;
  /**
   * The crash handler lttng-trig runs after its own actions (`install --chain`); the
   * notifier reads it in notifier.json (here only for an install made before that file).
   */
  chain?: ChainState;
  /** What was there before the first install. */
  previous: {
    /**
     * core_pattern exactly as /proc returned it, trailing newline included (a lossy
     * rendering when it is not UTF-8: then `corePatternBase64` holds the bytes).
     */
    corePattern: string;
    /** The exact bytes, base64, when they are not UTF-8. */
    corePatternBase64?: string;
    /** core_pipe_limit exactly as /proc returned it. */
    corePipeLimit: string;
  };
}

/** Options of {@linkcode readInstallState}. */
export interface ReadInstallStateOptions {
  /**
   * Refuse an install.json, or a state directory, that is a link, is not owned by one of
   * these uids, or is writable by group or others: install and uninstall act on it as
   * root. Without it, nothing is checked (status only reports what it says).
   */
  trustedOwners?: readonly number[];
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function isInstallState(v: unknown): v is InstallState {
  const s = v as InstallState | null;
  return typeof s === "object" && s !== null && s.version === 1 &&
    typeof s.installedAt === "string" && typeof s.corePattern === "string" &&
    typeof s.corePipeLimit === "number" && typeof s.previous === "object" &&
    s.previous !== null && typeof s.previous.corePattern === "string" &&
    typeof s.previous.corePipeLimit === "string" &&
    /^\d+\n?$/.test(s.previous.corePipeLimit) &&
    (s.chain === undefined || isChainState(s.chain)) &&
    (s.previous.corePatternBase64 === undefined ||
      typeof s.previous.corePatternBase64 === "string");
}

/**
 * What to remember of the kernel's files as /proc returned them: the core_pattern's bytes
 * (kept in base64 too when they are not UTF-8) and core_pipe_limit's text.
 */
export function previousOf(patternBytes: Uint8Array, limitRaw: string): InstallState["previous"] {
  const previous: InstallState["previous"] = {
    corePattern: new TextDecoder().decode(patternBytes),
    corePipeLimit: limitRaw,
  };
  try {
    strictDecoder.decode(patternBytes);
  } catch {
    previous.corePatternBase64 = base64(patternBytes);
  }
  return previous;
}

/** The kernel's files as install found them. */
export interface KernelFound {
  /** core_pattern's bytes, as /proc returned them. */
  bytes: Uint8Array;
  /** What that pattern does. */
  kind: CorePatternKind;
  /** core_pipe_limit's text, as /proc returned it. */
  limitRaw: string;
}

/** Options of {@linkcode previousToRemember}. */
export interface PreviousToRememberOptions {
  /** What install.json remembers now, if anything. */
  remembered?: InstallState | undefined;
  /** install.json's path, for the warning. */
  statePath: string;
}

/**
 * What a new install.json remembers as the values before lttng-trig, and the warning to
 * print when that is a guess or replaces what was remembered: an install over lttng-trig
 * keeps what the first install remembered.
 */
export function previousToRemember(
  found: KernelFound,
  options: PreviousToRememberOptions,
): { previous: InstallState["previous"]; warning?: string } {
  const { remembered, statePath } = options;
  if (found.kind.kind === "ours" && remembered !== undefined) {
    return { previous: remembered.previous };
  }
  if (found.kind.kind === "ours") {
    // Ours, but not by install (written by hand): remembering it would make uninstall a
    // no-op; the kernel's default is the best guess of what was there.
    return {
      previous: { corePattern: `${KERNEL_DEFAULT_CORE_PATTERN}\n`, corePipeLimit: found.limitRaw },
      warning:
        `Warning: core_pattern already runs lttng-trig, but ${statePath} does not say what it replaced: uninstall will restore the kernel's default '${KERNEL_DEFAULT_CORE_PATTERN}'`,
    };
  }
  const previous = previousOf(found.bytes, found.limitRaw);
  if (remembered === undefined) return { previous };
  return {
    previous,
    warning: `Warning: ${statePath} remembered ${
      quotePattern(remembered.previous.corePattern)
    } from an install on ${remembered.installedAt}, but core_pattern has changed since: remembering the current ${
      quotePattern(previous.corePattern)
    } instead`,
  };
}

/** The bytes of the remembered core_pattern, as /proc returned them. */
export function previousPatternBytes(state: InstallState): Uint8Array {
  const b64 = state.previous.corePatternBase64;
  if (b64 === undefined) return encoder.encode(state.previous.corePattern);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Path of install.json in `stateDir`. */
export function installStatePath(stateDir: string): string {
  return `${stateDir}/${INSTALL_STATE_NAME}`;
}

/** Path of notifier.json in `stateDir`. */
export function notifierConfigPath(stateDir: string): string {
  return `${stateDir}/${NOTIFIER_CONFIG_NAME}`;
}

/**
 * Refuse a file or directory that root trusts when another user could have written it:
 * uninstall writes install.json's pattern into the kernel, which runs it as root.
 */
function checkTrusted(st: Deno.FileInfo, path: string, owners: readonly number[]): void {
  const refusal = trustRefusal(st, path, owners);
  if (refusal !== undefined) throw new CommandError(refusal);
}

/**
 * Read STATE_DIR/install.json; `undefined` when there is none. With `trustedOwners`,
 * refuse one that another user could have written (install and uninstall act on it as
 * root).
 */
export async function readInstallState(
  stateDir: string,
  options: ReadInstallStateOptions = {},
): Promise<InstallState | undefined> {
  const path = installStatePath(stateDir);
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new CommandError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (options.trustedOwners !== undefined) {
    checkTrusted(await Deno.lstat(stateDir), stateDir, options.trustedOwners);
    checkTrusted(st, path, options.trustedOwners);
  }
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new CommandError(`cannot read ${path}: permission denied: run as root`);
    }
    value = undefined;
  }
  if (!isInstallState(value)) {
    throw new CommandError(
      `${path} is not a valid install record: restore /proc/sys/kernel/core_pattern by hand, then remove it`,
    );
  }
  return value;
}

/**
 * Write install.json, and notifier.json with its chain, each atomically (a 0600 temporary
 * file, synced, renamed into place), in a state directory that is created 0700 and must
 * be owned by one of `trustedOwners`. notifier.json comes first: once install.json says
 * what is installed, the notifier's file says the same.
 */
export async function writeInstallState(
  stateDir: string,
  state: InstallState,
  trustedOwners: readonly number[],
): Promise<void> {
  await writeNotifierConfig(stateDir, state.chain, trustedOwners);
  await writeAtomically(installStatePath(stateDir), JSON.stringify(state, null, 2) + "\n");
}

/**
 * Write notifier.json for `chain` (none: a notifier.json without one) atomically, in a
 * state directory as {@linkcode writeInstallState} wants it. `install` calls it alone
 * when lttng-trig is installed already but notifier.json is missing (an install made
 * before it).
 */
export async function writeNotifierConfig(
  stateDir: string,
  chain: ChainState | undefined,
  trustedOwners: readonly number[],
): Promise<void> {
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CommandError(
      `cannot create the state directory ${stateDir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const dirInfo = await Deno.lstat(stateDir);
  if (!dirInfo.isDirectory) throw new CommandError(`${stateDir} is not a directory`);
  checkTrusted(dirInfo, stateDir, trustedOwners);
  const config: NotifierConfig = { version: 1, ...(chain === undefined ? {} : { chain }) };
  await writeAtomically(notifierConfigPath(stateDir), JSON.stringify(config, null, 2) + "\n");
}

/** Whether notifier.json is in `stateDir` (as a file or anything else). */
export async function hasNotifierConfig(stateDir: string): Promise<boolean> {
  try {
    await Deno.lstat(notifierConfigPath(stateDir));
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw new CommandError(
      `cannot read ${notifierConfigPath(stateDir)}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Remove install.json, then notifier.json (one already gone is fine: an install made
 * before it had none). Both are tried; the first failure is thrown, as
 * "PATH cannot be removed: REASON".
 */
export async function removeInstallState(stateDir: string): Promise<void> {
  let failure: CommandError | undefined;
  for (const path of [installStatePath(stateDir), notifierConfigPath(stateDir)]) {
    try {
      await Deno.remove(path);
    } catch (err) {
      if (path !== installStatePath(stateDir) && err instanceof Deno.errors.NotFound) continue;
      failure ??= new CommandError(`${path} cannot be removed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  if (failure !== undefined) throw failure;
}

/** Write `text` to `path` through a 0600 temporary file, synced, renamed into place. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    {
      using file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      await Deno.chmod(tmp, 0o600);
      const data = encoder.encode(text);
      let off = 0;
      while (off < data.byteLength) off += await file.write(data.subarray(off));
      await file.sync();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new CommandError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
