/**
 * Socket mode: does the crashed process share the daemon's pid and UTS namespaces?
 *
 * The core's notes give the pid as the crashed process sees it, and no hostname, so the
 * daemon records its own hostname. That is right only when the process shares the
 * daemon's UTS namespace (a container has its own). While the dump is held, the daemon
 * looks at `/proc/PID`: it is the crashed process only if it is dumping core
 * (`CoreDumping: 1`), has the core's exec name, and has a single `NSpid` (it lives in the
 * daemon's pid namespace). Then its UTS namespace is compared with the daemon's.
 *
 * Deno opens nothing under `/proc` without `--allow-all`, so `grep` reads the status and
 * `stat` the namespace links. None of this delays an action: it runs beside them, and
 * the history entry is amended afterwards.
 *
 * @module
 */
import type { ProcessRunner } from "../lttng/process.ts";

/** What the daemon could tell of a crashed process's namespaces. */
export interface PeerNamespaces {
  /** The pid in the daemon's pid namespace, when `/proc/PID` proved to be the process. */
  globalPid?: number;
  /** Its UTS namespace (hostname) against the daemon's. */
  uts: "same" | "other" | "unknown";
  /** Why `uts` is not `same`, in words. */
  note?: string;
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
 * Parse the lines of `stat -c %N` run with `QUOTING_STYLE=literal`
 * (`PATH -> uts:[4026531838]`) into path -> target.
 */
export function parseLinks(text: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\/\S*) -> (\S+)$/.exec(line.trim());
    if (m !== null) links.set(m[1], m[2]);
  }
  return links;
}

/**
 * Find out whether crash `pid` (as its core's notes give it) with exec name `execName`
 * shares the daemon's namespaces. Call it while the dump is held: a released process is
 * gone from `/proc`. Never throws; bounded by `timeoutMs`.
 */
export async function peerNamespaces(
  pid: number,
  execName: string,
  runner: ProcessRunner,
  timeoutMs = 1000,
): Promise<PeerNamespaces> {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    return { uts: "unknown", note: `no process to look at (pid ${pid})` };
  }
  const proc = `/proc/${pid}`;
  const opts = { timeoutMs };
  const [status, links] = await Promise.all([
    runner.run("grep", ["-s", "-E", "^(Name|CoreDumping|NSpid):", `${proc}/status`], opts),
    runner.run("stat", ["-c", "%N", `${proc}/ns/uts`, "/proc/self/ns/uts"], {
      ...opts,
      env: { QUOTING_STYLE: "literal" },
    }),
  ]).catch((err) => [err as Error, err as Error]);
  if (status instanceof Error || links instanceof Error) {
    return { uts: "unknown", note: `cannot look at ${proc}: ${(status as Error).message}` };
  }
  if (status.spawnError !== undefined) {
    return { uts: "unknown", note: `cannot look at ${proc}: ${status.spawnError}` };
  }
  const s = parseStatus(status.stdout);
  // The kernel escapes a backslash and a newline in Name:.
  const name = execName.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  const isIt = s.coreDumping === "1" && s.name === name &&
    s.nsPids?.length === 1 && s.nsPids[0] === pid;
  if (!isIt) {
    return {
      uts: "unknown",
      note: s.name === undefined
        ? `${proc} does not exist here: the process is in another pid namespace`
        : `${proc} is another process here: the crashed one is in another pid namespace`,
    };
  }
  const l = parseLinks(links.stdout);
  const theirs = l.get(`${proc}/ns/uts`);
  const ours = l.get("/proc/self/ns/uts");
  if (theirs === undefined || ours === undefined) {
    return {
      globalPid: pid,
      uts: "unknown",
      note: `cannot read the UTS namespaces: ${links.stderr.trim() || `stat exited ${links.code}`}`,
    };
  }
  if (theirs !== ours) {
    return { globalPid: pid, uts: "other", note: "another UTS namespace than the daemon's" };
  }
  return { globalPid: pid, uts: "same" };
}
