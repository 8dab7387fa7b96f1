/**
 * The notifier's real side effects, and its failure journal.
 *
 * @module
 */
import type { FileFacts, NotifierIo } from "./notifier_io.ts";
import { NOTIFIER_LOG_NAME } from "../core/paths.ts";
import { connectUnix } from "./peer_cred.ts";

async function lstat(path: string): Promise<FileFacts | undefined> {
  try {
    const st = await Deno.lstat(path);
    return {
      isSocket: st.isSocket === true,
      isDirectory: st.isDirectory,
      uid: st.uid ?? -1,
      mode: st.mode ?? 0,
      ino: st.ino ?? -1,
    };
  } catch {
    return undefined;
  }
}

/** Home directory of `uid` from /etc/passwd (the kernel gives the notifier no HOME). */
export async function homeOf(uid: number): Promise<string | undefined> {
  const text = await Deno.readTextFile("/etc/passwd");
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && f[2] === String(uid)) return f[5];
  }
  return undefined;
}

/** The real {@linkcode NotifierIo}. */
export const denoNotifierIo: NotifierIo = {
  lstat,
  // Through libc, for the peer's credentials; each read or write waits at most 10 s (the
  // notifier's deadline cuts it shorter).
  connect: (path) => Promise.resolve().then(() => connectUnix(path, 10_000)),
  homeOf,
  // Only for a crash of a uid other than root's: loaded then.
  holdSlot: async (runDir, uid, cap) =>
    (await import("./held_slots.ts")).holdSlot(runDir, uid, cap),
  releaseCore: closeCorePipe,
  dropCore: closeCorePipe,
};

/** Closing the pipe makes the kernel stop writing the core: the process is released. */
function closeCorePipe(): void {
  try {
    Deno.stdin.close();
  } catch { /* already closed */ }
}

/** One journal line: a notifier run that did not go well. */
export interface JournalEntry {
  /** ISO time. */
  time: string;
  /** Crash pid. */
  pid: number;
  /** Crash uid, when known. */
  uid?: number;
  /** Exec name. */
  exec: string;
  /** Crash gid, when known. */
  gid?: number;
  /** Hostname (`%h`). */
  host?: string;
  /** Signal, when the pattern passes it. */
  signal?: number;
  /** The root daemon never got it (the crash is in no history: lib/notify/missed.ts). */
  rootMissed?: true;
  /** What went wrong. */
  failures: string[];
}

const JOURNAL_CAP = 1024 * 1024;

/**
 * Append `entry` to `stateDir/notifier.log` (JSON lines, created 0600 in a 0700
 * directory; rotated to `.1` past 1 MiB).
 */
export async function journalFailure(stateDir: string, entry: JournalEntry): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = `${stateDir}/${NOTIFIER_LOG_NAME}`;
  try {
    const st = await Deno.lstat(path);
    if (st.size > JOURNAL_CAP) await Deno.rename(path, `${path}.1`);
  } catch { /* no journal yet */ }
  await Deno.writeTextFile(path, JSON.stringify(entry) + "\n", {
    append: true,
    create: true,
    mode: 0o600,
  });
}

/** Read the last `n` journal entries (newest last); empty when there is no journal. */
export async function readJournal(stateDir: string, n = 20): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${stateDir}/${NOTIFIER_LOG_NAME}`);
  } catch {
    return [];
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n").slice(-n - 1)) {
    if (line.trim() === "") continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch { /* a torn line */ }
  }
  return entries.slice(-n);
}
