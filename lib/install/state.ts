/**
 * STATE_DIR/install.json: what `install` replaced in the kernel, written before the kernel
 * is touched so that an interrupted install never loses the previous handler, and read
 * back by `uninstall` (which writes it into the kernel, as root) and `status`.
 *
 * @module
 */
import { CommandError } from "../core/errors.ts";
import { octalMode, ownershipProblem } from "../core/ownership.ts";
import { INSTALL_STATE_NAME } from "../core/paths.ts";
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
   * The crash handler lttng-trig runs after its own actions (`install --chain`): the
   * notifier reads it here on each crash.
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

/** A chained crash handler, in install.json. */
export interface ChainState {
  /** The program, as the previous pattern names it. */
  program: string;
  /** The previous pattern's command: its text after `|`, expanded on each crash. */
  command: string;
  /** The specifiers `command` uses (as lib/install/specifiers.ts specifiersUsed). */
  specifiers: string;
  /** How long the chained handler may hold the crash, in ms, before it is killed. */
  timeoutMs: number;
}

function isChainState(v: unknown): v is ChainState {
  const c = v as ChainState | null;
  return typeof c === "object" && c !== null && typeof c.program === "string" &&
    typeof c.command === "string" && typeof c.specifiers === "string" &&
    Number.isSafeInteger(c.timeoutMs) && c.timeoutMs > 0;
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

/**
 * Refuse a file or directory that root trusts when another user could have written it:
 * uninstall writes install.json's pattern into the kernel, which runs it as root.
 */
function checkTrusted(st: Deno.FileInfo, path: string, owners: readonly number[]): void {
  if (st.isSymlink) throw new CommandError(`${path} is a symbolic link: remove it`);
  const problem = ownershipProblem(st, owners);
  if (problem?.kind === "owner") {
    throw new CommandError(`${path} belongs to uid ${st.uid}, not to you: remove it`);
  }
  if (problem?.kind === "writable") {
    throw new CommandError(
      `${path} is writable by others (mode ${octalMode(problem.mode)}): run 'chmod go-w ${path}'`,
    );
  }
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
 * Write install.json atomically (a 0600 temporary file, synced, renamed into place), in a
 * state directory that is created 0700 and must be owned by one of `trustedOwners`.
 */
export async function writeInstallState(
  stateDir: string,
  state: InstallState,
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
  const path = installStatePath(stateDir);
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    {
      using file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      await Deno.chmod(tmp, 0o600);
      const data = encoder.encode(JSON.stringify(state, null, 2) + "\n");
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
