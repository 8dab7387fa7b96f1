/**
 * Socket mode: does the crashed process share the daemon's pid and UTS namespaces?
 *
 * The core's notes give the pid as the crashed process sees it, and no hostname, so the
 * daemon would record its own hostname. That is right only when the process shares the
 * daemon's UTS namespace (a container has its own). While the dump is held, the daemon
 * looks at `/proc/PID`: it is the crashed process only if it is dumping core
 * (`CoreDumping: 1`), has the core's exec name, and has a single `NSpid` (it lives in the
 * daemon's pid namespace). Then its UTS namespace link is compared with the daemon's.
 *
 * Deno opens nothing under `/proc` without `--allow-all`, so the daemon reads these
 * through libc (`open`, `read`, `readlink`, by FFI, scoped to libc's path): a few
 * microseconds, where starting `grep` and `stat` took milliseconds from the snapshot.
 *
 * @module
 */

/** What the daemon could tell of a crashed process's namespaces. */
export interface PeerNamespaces {
  /** The pid in the daemon's pid namespace, when `/proc/PID` proved to be the process. */
  globalPid?: number;
  /** Its UTS namespace (hostname) against the daemon's. */
  uts: "same" | "other" | "unknown";
  /** Why `uts` is not `same`, in words. */
  note?: string;
}

/** Reads under `/proc`; injected so the check is testable without a crash. */
export interface ProcReader {
  /** The text of a small file (the first 16 KiB), or `undefined` when it cannot be read. */
  readFile(path: string): string | undefined;
  /** The target of a link, or `undefined` when it cannot be read. */
  readLink(path: string): string | undefined;
}

/** Where libc is, on the supported hosts (the `ffi` permission lists the same). */
export const LIBC_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
];

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
} as const;

const O_RDONLY_CLOEXEC = 0o2000000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${s}\0`) as Uint8Array<ArrayBuffer>;
}

/** A {@linkcode ProcReader} on libc, or why there is none. Open it once. */
export function libcProcReader(): ProcReader | string {
  const reasons: string[] = [];
  for (const path of LIBC_PATHS) {
    let lib: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
    try {
      lib = Deno.dlopen(path, LIBC_SYMBOLS);
    } catch (err) {
      reasons.push(`${path}: ${(err as Error).message.split("\n")[0]}`);
      continue;
    }
    const libc = lib.symbols;
    return {
      readFile(file) {
        const fd = libc.open(cString(file), O_RDONLY_CLOEXEC);
        if (fd < 0) return undefined;
        try {
          const buf = new Uint8Array(16 * 1024);
          let len = 0;
          while (len < buf.length) {
            const n = Number(libc.read(fd, buf.subarray(len), BigInt(buf.length - len)));
            if (n < 0) return undefined;
            if (n === 0) break;
            len += n;
          }
          return decoder.decode(buf.subarray(0, len));
        } finally {
          libc.close(fd);
        }
      },
      readLink(link) {
        const buf = new Uint8Array(256);
        const n = Number(libc.readlink(cString(link), buf, BigInt(buf.length)));
        return n < 0 ? undefined : decoder.decode(buf.subarray(0, n));
      },
    };
  }
  return `libc cannot be loaded (${reasons.join("; ")})`;
}

/** Fields of `/proc/PID/status` the check reads. */
interface StatusFacts {
  name?: string;
  coreDumping?: string;
  nsPids?: number[];
}

/** Parse the `Name:`, `CoreDumping:` and `NSpid:` lines of `/proc/PID/status`. */
export function parseStatus(text: string): StatusFacts {
  const out: StatusFacts = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^\t/, "");
    if (key === "Name") out.name = value;
    else if (key === "CoreDumping") out.coreDumping = value.trim();
    else if (key === "NSpid") out.nsPids = value.trim().split(/\s+/).map(Number);
  }
  return out;
}

/**
 * Find out whether crash `pid` (as its core's notes give it) with exec name `execName`
 * shares the daemon's namespaces. Call it while the dump is held: a released process is
 * gone from `/proc`. `reader` is a {@linkcode ProcReader}, or why there is none. Never
 * throws.
 */
export function peerNamespaces(
  pid: number,
  execName: string,
  reader: ProcReader | string,
): PeerNamespaces {
  if (typeof reader === "string") return { uts: "unknown", note: reader };
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    return { uts: "unknown", note: `no process to look at (pid ${pid})` };
  }
  const proc = `/proc/${pid}`;
  let status: string | undefined;
  let theirs: string | undefined;
  let ours: string | undefined;
  try {
    status = reader.readFile(`${proc}/status`);
    theirs = reader.readLink(`${proc}/ns/uts`);
    ours = reader.readLink("/proc/self/ns/uts");
  } catch (err) {
    return { uts: "unknown", note: `cannot look at ${proc}: ${(err as Error).message}` };
  }
  if (status === undefined) {
    return {
      uts: "unknown",
      note: `${proc} does not exist here: the process is in another pid namespace`,
    };
  }
  const s = parseStatus(status);
  // The kernel escapes a backslash and a newline in Name:.
  const name = execName.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  const isIt = s.coreDumping === "1" && s.name === name &&
    s.nsPids?.length === 1 && s.nsPids[0] === pid;
  if (!isIt) {
    return {
      uts: "unknown",
      note: `${proc} is another process here: the crashed one is in another pid namespace`,
    };
  }
  if (theirs === undefined || ours === undefined) {
    return {
      globalPid: pid,
      uts: "unknown",
      note: `cannot read ${theirs === undefined ? `${proc}/ns/uts` : "/proc/self/ns/uts"}`,
    };
  }
  if (theirs !== ours) {
    return { globalPid: pid, uts: "other", note: "another UTS namespace than the daemon's" };
  }
  return { globalPid: pid, uts: "same" };
}
