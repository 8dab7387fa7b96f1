/**
 * The kernel's files that install changes, /proc/sys/kernel/core_pattern and
 * core_pipe_limit, and the two ways to reach them: /proc directly, or sysctl(8) when
 * Deno's permissions do not open /proc.
 *
 * @module
 */
import { CommandError } from "../core/errors.ts";

/** The kernel's core dump pattern. */
export const CORE_PATTERN_PATH = "/proc/sys/kernel/core_pattern";
/** How many crashes may be piped to helpers at once (0: unlimited, but no waiting). */
export const CORE_PIPE_LIMIT_PATH = "/proc/sys/kernel/core_pipe_limit";

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
        // Run from a directory anyone can enter: spawning from one the caller cannot read
        // fails with "Permission denied".
        cwd: "/",
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

/** Read a kernel file for a command: a failure is a {@linkcode CommandError} naming it. */
export async function readKernelFile(kernel: KernelFiles, path: string): Promise<Uint8Array> {
  try {
    return await kernel.read(path);
  } catch (err) {
    throw new CommandError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Write a kernel file for a command (`text` without the newline /proc adds): a failure is
 * a {@linkcode CommandError} naming it.
 */
export async function writeKernelFile(
  kernel: KernelFiles,
  path: string,
  text: Uint8Array,
): Promise<void> {
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

/** `bytes` without the one trailing newline /proc adds on read. */
export function withoutNewline(bytes: Uint8Array): Uint8Array {
  return bytes.at(-1) === 0x0a ? bytes.subarray(0, -1) : bytes;
}

/** Whether `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

/** core_pipe_limit's text as a number; a {@linkcode CommandError} when it is not one. */
export function parsePipeLimit(raw: string): number {
  const t = raw.trim();
  if (!/^\d{1,10}$/.test(t)) {
    throw new CommandError(`${CORE_PIPE_LIMIT_PATH} reads "${t}", not a number`);
  }
  return Number(t);
}
