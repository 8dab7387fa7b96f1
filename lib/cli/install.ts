/**
 * `lttng-trig install` and `lttng-trig uninstall`: take over and give back
 * /proc/sys/kernel/core_pattern (and core_pipe_limit).
 *
 * install remembers what it replaced in STATE_DIR/install.json before it touches the
 * kernel, so that an interrupted install never loses the previous handler; uninstall
 * writes back exactly those bytes. Both read the kernel's files back to check them.
 *
 * @module
 */
import { CommandError, UsageError } from "../errors.ts";
import { COREDUMP_SOCKET_NAME, resolveStateDir } from "../paths.ts";
import { type CommandContext, controlSocketPath } from "./common.ts";
import { type CommandSpec, HELP_OPTION, parse, usageLine } from "./registry.ts";
import { controlRequest } from "../client/client.ts";
import { ControlCommand } from "../wire/control.ts";
import { kernelVersion } from "../notify/args.ts";

/** The kernel's core dump pattern. */
export const CORE_PATTERN_PATH = "/proc/sys/kernel/core_pattern";
/** How many crashes may be piped to helpers at once (0: unlimited, but no waiting). */
export const CORE_PIPE_LIMIT_PATH = "/proc/sys/kernel/core_pipe_limit";
/**
 * The longest core_pattern the kernel keeps, in bytes: CORENAME_MAX_SIZE (128) less the
 * NUL. It silently cuts a longer one.
 */
export const CORE_PATTERN_MAX_BYTES = 127;
/**
 * The core_pipe_limit install sets when it finds 0. A non-zero limit makes the kernel
 * wait for the notifier before it reaps the crashed process, but it also skips (no
 * helper, no core) every crash beyond that many in flight at once: it must exceed the
 * crash storms expected. The notifier holds a crash at most 10 s.
 */
export const INSTALL_PIPE_LIMIT = 64;
/** What install remembers, in the state directory. */
export const INSTALL_STATE_NAME = "install.json";
/** The kernel's default core_pattern, restored when nothing else is known. */
export const KERNEL_DEFAULT_CORE_PATTERN = "core";

/** Reads and writes the kernel's files under /proc/sys: injected by tests. */
export interface KernelFiles {
  /** The file's bytes, as the kernel gives them (with its trailing newline). */
  read(path: string): Promise<Uint8Array>;
  /** Write `data` in one write(2), without creating or truncating. */
  write(path: string, data: Uint8Array): Promise<void>;
}

/** /proc/sys read and written directly (Deno asks for --allow-all to open /proc). */
export const procKernelFiles: KernelFiles = {
  read: (path) => Deno.readFile(path),
  async write(path, data) {
    using file = await Deno.open(path, { write: true });
    const n = await file.write(data);
    if (n !== data.byteLength) {
      throw new Error(`short write: ${n} of ${data.byteLength} bytes`);
    }
  },
};

// Where sysctl is when PATH has no sbin directory (as for most users on Debian).
const SYSCTL_COMMANDS = ["sysctl", "/usr/sbin/sysctl", "/sbin/sysctl"];

async function sysctl(args: string[]): Promise<Deno.CommandOutput> {
  let last: unknown;
  for (const cmd of SYSCTL_COMMANDS) {
    try {
      return await new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        clearEnv: true,
        env: { LC_ALL: "C" },
      }).output();
    } catch (err) {
      last = err;
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotCapable)) break;
    }
  }
  if (last instanceof Deno.errors.NotFound) {
    throw new Error("sysctl is not installed: install it (Debian: apt-get install procps)", {
      cause: last,
    });
  }
  throw last;
}

function sysctlKey(path: string): string {
  if (!path.startsWith("/proc/sys/")) throw new TypeError(`Not a sysctl file: ${path}`);
  return path.slice("/proc/sys/".length).replaceAll("/", ".");
}

/**
 * /proc/sys through the sysctl(8) command, for a permission set without --allow-all.
 * sysctl trims white space around a value and writes one line: enough for the patterns
 * lttng-trig writes; the read-back shows any other difference.
 */
export const sysctlKernelFiles: KernelFiles = {
  async read(path) {
    // -b: the raw value, without the newline /proc adds; add it back.
    const out = await sysctl(["-n", "-b", sysctlKey(path)]);
    if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr).trim());
    return Uint8Array.from([...out.stdout, 0x0a]);
  },
  async write(path, data) {
    let value: string;
    try {
      value = new TextDecoder("utf-8", { fatal: true }).decode(data);
    } catch {
      throw new Error("sysctl cannot write a value that is not UTF-8");
    }
    const out = await sysctl(["-q", "-w", `${sysctlKey(path)}=${value.replace(/\n$/, "")}`]);
    if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr).trim());
  },
};

/**
 * /proc/sys directly when the permissions allow it, else through sysctl(8): Deno's
 * permission set must then grant run access to sysctl.
 */
export const defaultKernelFiles: KernelFiles = {
  async read(path) {
    try {
      return await procKernelFiles.read(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotCapable)) throw err;
      return await sysctlKernelFiles.read(path).catch((e) => {
        throw notCapable(path, e);
      });
    }
  },
  async write(path, data) {
    try {
      return await procKernelFiles.write(path, data);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotCapable)) throw err;
      return await sysctlKernelFiles.write(path, data).catch((e) => {
        throw notCapable(path, e);
      });
    }
  },
};

function notCapable(path: string, err: unknown): Error {
  if (!(err instanceof Deno.errors.NotCapable)) return err as Error;
  return new Error(
    `Deno's permissions allow neither ${path} (only --allow-all opens /proc) nor running sysctl: grant run access to sysctl in deno.json's "lttng-trig" permission set`,
    { cause: err },
  );
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------
// The pattern

/** Options of {@linkcode corePatternFor}. */
export interface CorePatternOptions {
  /** Absolute path of the lttng-trig executable the kernel runs. */
  exe: string;
  /** Pass the kernel's crash facts (`--facts=%P:%s:%t:%c:%d:%E`). @default false */
  facts?: boolean;
  /** Absolute directory the notifier saves cores in; implies `facts`. */
  coreDir?: string;
}

/**
 * Why `path` cannot appear in a core_pattern, or `undefined` when it can: it must be
 * absolute, and the kernel splits the pattern at white space and expands `%`.
 */
export function patternPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "it is not an absolute path";
  if (/\s/.test(path)) return "it contains white space, where the kernel splits the pattern";
  if (path.includes("%")) return "it contains '%', which the kernel expands";
  return undefined;
}

/**
 * The core_pattern line that runs lttng-trig's notifier.
 *
 * @example The default line, and one with the crash facts
 * ```ts
 * import assert from "node:assert/strict";
 * import { corePatternFor } from "./install.ts";
 *
 * assert.equal(
 *   corePatternFor({ exe: "/usr/bin/lttng-trig" }),
 *   "|/usr/bin/lttng-trig notify %p %u %g %e %h",
 * );
 * assert.equal(
 *   corePatternFor({ exe: "/usr/bin/lttng-trig", facts: true }),
 *   "|/usr/bin/lttng-trig notify --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
 * );
 * ```
 */
export function corePatternFor(options: CorePatternOptions): string {
  const exeProblem = patternPathProblem(options.exe);
  if (exeProblem !== undefined) {
    throw new TypeError(`Cannot use "${options.exe}" in core_pattern: ${exeProblem}`);
  }
  const words = [`|${options.exe}`, "notify"];
  if (options.coreDir !== undefined) {
    const problem = patternPathProblem(options.coreDir);
    if (problem !== undefined) {
      throw new TypeError(`Cannot use "${options.coreDir}" in core_pattern: ${problem}`);
    }
    words.push(`--core-dir=${options.coreDir}`);
  }
  if (options.facts || options.coreDir !== undefined) {
    // %E (the executable's path, "/" written "!") comes last: a path may contain ":".
    words.push("--facts=%P:%s:%t:%c:%d:%E");
  }
  words.push("%p", "%u", "%g", "%e", "%h");
  return words.join(" ");
}

/** What a core_pattern does. */
export type CorePatternKind =
  /** lttng-trig's notifier. */
  | { kind: "ours"; exe: string }
  /** Another crash handler: a `|program` or an `@socket`. */
  | { kind: "handler"; handler: string }
  /** A core file name (or template). */
  | { kind: "file" };

/**
 * Classify a core_pattern (a trailing newline, as /proc gives it, is ignored): lttng-trig's
 * when it pipes to a program named `lttng-trig` whose first argument is `notify`.
 */
export function classifyCorePattern(pattern: string): CorePatternKind {
  const text = stripNewline(pattern);
  if (text.startsWith("|")) {
    // The kernel splits the helper's command line as argv_split() does: at white space.
    const words = text.slice(1).trim().split(/\s+/);
    const exe = words[0] ?? "";
    if (exe.split("/").pop() === "lttng-trig" && words[1] === "notify") {
      return { kind: "ours", exe };
    }
    return { kind: "handler", handler: exe === "" ? "an empty pipe command" : exe };
  }
  if (text.startsWith("@")) {
    const path = text.replace(/^@+/, "");
    if (path.split("/").pop() === COREDUMP_SOCKET_NAME) return { kind: "ours", exe: path };
    return { kind: "handler", handler: `the coredump socket ${path}` };
  }
  return { kind: "file" };
}

/** `text` without the one trailing newline /proc adds on read. */
export function stripNewline(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** A pattern for a message: `'core'`, or JSON-quoted when it holds control characters. */
export function quotePattern(text: string): string {
  const t = stripNewline(text);
  // deno-lint-ignore no-control-regex
  return /[\x00-\x1f\x7f]/.test(t) ? JSON.stringify(t) : `'${t}'`;
}

// ---------------------------------------------------------------------------------------
// What install remembers

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

function isInstallState(v: unknown): v is InstallState {
  const s = v as InstallState | null;
  return typeof s === "object" && s !== null && s.version === 1 &&
    typeof s.installedAt === "string" && typeof s.corePattern === "string" &&
    typeof s.corePipeLimit === "number" && typeof s.previous === "object" &&
    s.previous !== null && typeof s.previous.corePattern === "string" &&
    typeof s.previous.corePipeLimit === "string" &&
    /^\d+\n?$/.test(s.previous.corePipeLimit) &&
    (s.previous.corePatternBase64 === undefined ||
      typeof s.previous.corePatternBase64 === "string");
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

function modeOf(st: Deno.FileInfo): string {
  return ((st.mode ?? 0) & 0o777).toString(8);
}

/**
 * Refuse a file or directory that root trusts when another user could have written it:
 * uninstall writes install.json's pattern into the kernel, which runs it as root.
 */
function checkTrusted(st: Deno.FileInfo, path: string, uid: number): void {
  if (st.isSymlink) throw new CommandError(`${path} is a symbolic link: remove it`);
  if (st.uid !== uid && st.uid !== 0) {
    throw new CommandError(`${path} belongs to uid ${st.uid}, not to you: remove it`);
  }
  if (((st.mode ?? 0) & 0o022) !== 0) {
    throw new CommandError(
      `${path} is writable by others (mode ${modeOf(st)}): run 'chmod go-w ${path}'`,
    );
  }
}

/**
 * Read STATE_DIR/install.json; `undefined` when there is none. With `trust`, refuse one
 * that another user could have written (install and uninstall act on it as root).
 */
export async function readInstallState(
  stateDir: string,
  options: { uid: number; trust: boolean },
): Promise<InstallState | undefined> {
  const path = installStatePath(stateDir);
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new CommandError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (options.trust) {
    checkTrusted(await Deno.lstat(stateDir), stateDir, options.uid);
    checkTrusted(st, path, options.uid);
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

/** Write install.json atomically (a 0600 temporary file, synced, renamed into place). */
async function writeInstallState(stateDir: string, state: InstallState, uid: number) {
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
  checkTrusted(dirInfo, stateDir, uid);
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

// ---------------------------------------------------------------------------------------
// Kernel access

function requireRoot(uid: number, command: string): void {
  if (uid !== 0) {
    throw new CommandError(
      `${command} writes ${CORE_PATTERN_PATH}, which needs root: run 'sudo lttng-trig ${command}'`,
    );
  }
}

async function readKernel(kernel: KernelFiles, path: string): Promise<Uint8Array> {
  try {
    return await kernel.read(path);
  } catch (err) {
    throw new CommandError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeKernel(kernel: KernelFiles, path: string, text: Uint8Array): Promise<void> {
  // An empty write changes nothing; a lone newline sets the empty string.
  const data = text.byteLength === 0 ? encoder.encode("\n") : text;
  try {
    await kernel.write(path, data);
  } catch (err) {
    const hint = err instanceof Deno.errors.PermissionDenied ? ": run as root" : "";
    throw new CommandError(`cannot write ${path}: ${(err as Error).message}${hint}`, {
      cause: err,
    });
  }
}

function withoutNewline(bytes: Uint8Array): Uint8Array {
  return bytes.at(-1) === 0x0a ? bytes.subarray(0, -1) : bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

function parsePipeLimit(raw: string): number {
  const t = raw.trim();
  if (!/^\d{1,10}$/.test(t)) {
    throw new CommandError(`${CORE_PIPE_LIMIT_PATH} reads "${t}", not a number`);
  }
  return Number(t);
}

/** Where the pattern's executable is unusable, say why. */
async function exeProblem(exe: string): Promise<string | undefined> {
  const p = patternPathProblem(exe);
  if (p !== undefined) return p;
  if (exe.split("/").pop() !== "lttng-trig") {
    return "it is not named lttng-trig (status and uninstall recognise the notifier by that name)";
  }
  try {
    const st = await Deno.stat(exe);
    if (!st.isFile) return "it is not a file";
    if (((st.mode ?? 0) & 0o111) === 0) return "it is not executable";
  } catch (err) {
    return `it cannot be found (${(err as Error).message})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// install

/** `install`'s options and arguments. */
export const INSTALL_SPEC = {
  name: "install",
  summary: "Point core_pattern at the notifier (remembers the old one)",
  description: [
    "Point the kernel's /proc/sys/kernel/core_pattern at the lttng-trig notifier, so that it runs on every core dump:",
    "  |EXE notify %p %u %g %e %h",
    `EXE is the absolute path of the lttng-trig that runs this command (the launcher bin/lttng-trig, or a compiled binary), or --exe. install checks that the kernel kept the pattern by reading it back, remembers the previous core_pattern and core_pipe_limit in STATE_DIR/install.json for 'lttng-trig uninstall', and sets core_pipe_limit to ${INSTALL_PIPE_LIMIT} when it is 0: the kernel then waits for the notifier before it reaps the crashed process, which stays inspectable. The kernel skips every crash beyond that many at once, so the limit must exceed the crash storms you expect; a non-zero limit is left as it is. Needs root.`,
    "It refuses to replace another crash handler (a '|program' or '@socket' pattern, such as systemd-coredump or apport) unless --force; a core file pattern such as 'core' is replaced without it. Installing again over lttng-trig (to change options) keeps the value remembered the first time. core_pattern is not kept across reboots: see docs/INSTALLING.md.",
  ],
  positionals: [],
  options: [
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
        "Also pass the kernel's crash facts to the notifier: global pid, signal, time, core size limit, dump mode and the executable's path (%P %s %t %c %d %E).",
      examples: ["lttng-trig install --facts"],
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
  /** `--facts`. */
  facts: boolean;
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
    const clash = (["facts", "core-dir", "exe"] as const).find((o) => values[o] !== undefined);
    if (clash !== undefined) {
      throw new UsageError(
        `--${clash} applies to the notifier, not to --socket (in socket mode the daemon keeps cores: 'lttng-trig daemon --core-dir=DIR')`,
        INSTALL_USAGE,
      );
    }
  } else if (values["run-dir"] !== undefined) {
    throw new UsageError("--run-dir goes with --socket", INSTALL_USAGE);
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, INSTALL_USAGE);
  }
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
    facts: values.facts ?? false,
    socket: values.socket ?? false,
  };
  if (values["run-dir"] !== undefined) args.runDir = values["run-dir"];
  if (values["core-dir"] !== undefined) args.coreDir = values["core-dir"].replace(/(.)\/+$/, "$1");
  if (values.exe !== undefined) args.exe = values.exe;
  if (values["state-dir"] !== undefined) args.stateDir = values["state-dir"];
  return args;
}

/** Does a kernel of release `release` have the coredump socket (Linux 6.16+)? */
export function kernelHasCoredumpSocket(release: string): boolean {
  const v = kernelVersion(release);
  return v !== undefined && (v[0] > 6 || (v[0] === 6 && v[1] >= 16));
}

/**
 * The daemon's coredump socket, once checked: the kernel has the mode, the daemon answers,
 * listens there, and cannot dump core into its own socket.
 */
async function coredumpSocketReady(ctx: CommandContext, runDir?: string): Promise<string> {
  const release = Deno.osRelease();
  if (!kernelHasCoredumpSocket(release)) {
    throw new CommandError(
      `the kernel's coredump socket needs Linux 6.16 or later, and this is ${release}: install without --socket (the notifier works on every kernel)`,
    );
  }
  const status = await controlRequest(
    controlSocketPath(ctx.env, runDir),
    ControlCommand.STATUS,
    {},
  ) as {
    coredumpSocket?: string | null;
    selfDump?: { protected: boolean; reason: string };
  };
  if (!status.coredumpSocket) {
    throw new CommandError(
      "the daemon does not listen on a coredump socket: start it as root without --no-coredump-socket",
    );
  }
  if (!status.selfDump?.protected) {
    throw new CommandError(
      `the daemon could deadlock dumping its own core into its socket: ${
        status.selfDump?.reason ?? "unknown protection"
      }`,
    );
  }
  // The kernel refuses a socket path that goes through a symlink (/var/run -> /run).
  try {
    return await Deno.realPath(status.coredumpSocket);
  } catch (err) {
    throw new CommandError(`cannot resolve ${status.coredumpSocket}: ${(err as Error).message}`);
  }
}

async function checkCoreDir(dir: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CommandError(
        `--core-dir ${dir} does not exist: create it first (mkdir -p -m 0700 ${dir})`,
      );
    }
    throw new CommandError(`cannot use --core-dir ${dir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory) throw new CommandError(`--core-dir ${dir} is not a directory`);
  if (st.uid !== 0 || ((st.mode ?? 0) & 0o022) !== 0) {
    throw new CommandError(
      `--core-dir ${dir} can be written by someone other than root (owner uid ${st.uid}, mode ${
        modeOf(st)
      }): the notifier writes cores there as root: use a directory only root can write (mkdir -m 0700 DIR)`,
    );
  }
}

/** Run `install`; `kernel` is injected by tests. */
export async function installCommand(
  argv: string[],
  ctx: CommandContext,
  kernel: KernelFiles = defaultKernelFiles,
): Promise<number> {
  const args = parseInstallArgs(argv);
  requireRoot(ctx.env.uid, "install");

  let pattern: string;
  let exe = "";
  if (args.socket) {
    pattern = `@${await coredumpSocketReady(ctx, args.runDir)}`;
  } else {
    exe = args.exe ?? (ctx.env.get("LTTNG_TRIG_EXE") || Deno.execPath());
    const badExe = await exeProblem(exe);
    if (badExe !== undefined) {
      throw new CommandError(
        `cannot name ${exe} in core_pattern: ${badExe}: run install through the launcher bin/lttng-trig, or pass --exe=PATH`,
      );
    }
    pattern = corePatternFor({ exe, facts: args.facts, coreDir: args.coreDir });
  }
  const size = encoder.encode(pattern).byteLength;
  if (size > CORE_PATTERN_MAX_BYTES) {
    throw new CommandError(
      `the core_pattern would be ${size} bytes, over the kernel's limit of ${CORE_PATTERN_MAX_BYTES} (it would cut it silently): '${pattern}': ${
        args.coreDir === undefined ? "" : "use a shorter --core-dir, or "
      }name lttng-trig by a shorter path, e.g. 'ln -s ${exe} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`,
    );
  }
  if (args.coreDir !== undefined) await checkCoreDir(args.coreDir);

  const stateDir = resolveStateDir(ctx.env, args.stateDir);
  const statePath = installStatePath(stateDir);
  const currentBytes = await readKernel(kernel, CORE_PATTERN_PATH);
  const current = decoder.decode(currentBytes);
  const limitRaw = decoder.decode(await readKernel(kernel, CORE_PIPE_LIMIT_PATH));
  const limit = parsePipeLimit(limitRaw);
  const kind = classifyCorePattern(current);
  if (kind.kind === "handler" && !args.force) {
    throw new CommandError(
      `core_pattern is handled by ${kind.handler} (${
        quotePattern(current)
      }): pass --force to replace it (uninstall will restore it)`,
    );
  }
  const remembered = await readInstallState(stateDir, { uid: ctx.env.uid, trust: true });
  const newLimit = limit === 0 ? INSTALL_PIPE_LIMIT : limit;
  if (
    kind.kind === "ours" && remembered !== undefined && stripNewline(current) === pattern &&
    newLimit === limit
  ) {
    ctx.io.out(`lttng-trig is already installed: core_pattern is '${pattern}'.`);
    return 0;
  }

  let previous: InstallState["previous"];
  if (kind.kind === "ours" && remembered !== undefined) {
    previous = remembered.previous;
  } else if (kind.kind === "ours") {
    // Ours, but not by install (written by hand): remembering it would make uninstall a
    // no-op; the kernel's default is the best guess of what was there.
    previous = { corePattern: `${KERNEL_DEFAULT_CORE_PATTERN}\n`, corePipeLimit: limitRaw };
    ctx.io.err(
      `Warning: core_pattern already runs lttng-trig, but ${statePath} does not say what it replaced: uninstall will restore the kernel's default '${KERNEL_DEFAULT_CORE_PATTERN}'`,
    );
  } else {
    previous = { corePattern: current, corePipeLimit: limitRaw };
    try {
      strictDecoder.decode(currentBytes);
    } catch {
      previous.corePatternBase64 = base64(currentBytes);
    }
    if (remembered !== undefined) {
      ctx.io.err(
        `Warning: ${statePath} remembered ${
          quotePattern(remembered.previous.corePattern)
        } from an install on ${remembered.installedAt}, but core_pattern has changed since: remembering the current ${
          quotePattern(current)
        } instead`,
      );
    }
  }
  const state: InstallState = {
    version: 1,
    installedAt: new Date().toISOString(),
    corePattern: pattern,
    corePipeLimit: newLimit,
    previous,
  };

  // Remember first: if we are interrupted after writing the kernel, nothing is lost.
  await writeInstallState(stateDir, state, ctx.env.uid);
  try {
    await writeKernel(kernel, CORE_PATTERN_PATH, encoder.encode(pattern));
    const back = stripNewline(decoder.decode(await readKernel(kernel, CORE_PATTERN_PATH)));
    if (back !== pattern) {
      throw new CommandError(`the kernel kept ${quotePattern(back)} instead of '${pattern}'`);
    }
    if (newLimit !== limit) {
      await writeKernel(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(String(newLimit)));
      const backLimit = decoder.decode(await readKernel(kernel, CORE_PIPE_LIMIT_PATH)).trim();
      if (backLimit !== String(newLimit)) {
        throw new CommandError(
          `core_pipe_limit reads back as ${backLimit} instead of ${newLimit}`,
        );
      }
    }
  } catch (err) {
    const restored = await restoreAfterFailure(kernel, currentBytes, limitRaw);
    if (remembered !== undefined) {
      await writeInstallState(stateDir, remembered, ctx.env.uid).catch(() => {});
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
  if (kind.kind === "handler") {
    ctx.io.out(`Replaced ${kind.handler} (${quotePattern(current)}).`);
  }
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

async function restoreAfterFailure(
  kernel: KernelFiles,
  patternBytes: Uint8Array,
  limitRaw: string,
): Promise<boolean> {
  try {
    await writeKernel(kernel, CORE_PATTERN_PATH, withoutNewline(patternBytes));
    await writeKernel(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(limitRaw.trim()));
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

/** Run `uninstall`; `kernel` is injected by tests. */
export async function uninstallCommand(
  argv: string[],
  ctx: CommandContext,
  kernel: KernelFiles = defaultKernelFiles,
): Promise<number> {
  const { values, positionals } = parse(UNINSTALL_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, UNINSTALL_USAGE);
  }
  requireRoot(ctx.env.uid, "uninstall");
  const stateDir = resolveStateDir(ctx.env, values["state-dir"]);
  const statePath = installStatePath(stateDir);
  const state = await readInstallState(stateDir, { uid: ctx.env.uid, trust: true });
  const current = decoder.decode(await readKernel(kernel, CORE_PATTERN_PATH));
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

  await writeKernel(kernel, CORE_PATTERN_PATH, withoutNewline(previous));
  const back = await readKernel(kernel, CORE_PATTERN_PATH);
  if (!sameBytes(back, previous)) {
    throw new CommandError(
      `core_pattern reads back as ${
        quotePattern(decoder.decode(back))
      } instead of ${shownPrevious}: ${statePath} is kept`,
    );
  }
  const limitText = state.previous.corePipeLimit.trim();
  await writeKernel(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(limitText));
  const backLimit = decoder.decode(await readKernel(kernel, CORE_PIPE_LIMIT_PATH)).trim();
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
