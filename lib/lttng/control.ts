/**
 * The actions on LTTng sessions, through the `lttng` command (`--no-sessiond`, so that an
 * action never spawns a session daemon, and `--mi xml` where the answer is parsed).
 *
 * @module
 */
import type { SnapshotAction } from "../core/trigger.ts";
import { denoProcessRunner, type ProcessResult, type ProcessRunner } from "./process.ts";
import { LttngCtlError, type LttngCtlLibrary } from "./ctl_library.ts";
import { describeProblems, type PathFs, PathTrust, type TrustRule } from "../sys/path_trust.ts";

/** A session as `lttng list` reports it. */
export interface SessionInfo {
  /** Session name. */
  name: string;
  /** Trace output path (empty for snapshot sessions). */
  path: string;
  /** Whether it is recording. */
  enabled: boolean;
  /** Whether it was created with `--snapshot`. */
  snapshotMode: boolean;
}

/** An action that failed, with a reason a user can read. */
export class LttngActionError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LttngActionError";
  }
}

/** Options of {@linkcode LttngControl}. */
export interface LttngControlOptions {
  /** Runs `lttng`. @default denoProcessRunner */
  runner?: ProcessRunner;
  /** The `lttng` binary. @default "lttng" */
  binary?: string;
  /** Deadline of one `lttng` run, in milliseconds. @default 8000 */
  timeoutMs?: number;
  /** liblttng-ctl, for snapshot and stop without a process. @default none: the command */
  library?: LttngCtlLibrary;
}

/** The result of a snapshot. */
export interface SnapshotResult {
  /** Where the snapshot is: a local directory, or the URL and name on a relay daemon. */
  location: string;
}

/** Controls LTTng sessions through the `lttng` command. */
export class LttngControl {
  #runner: ProcessRunner;
  #binary: string;
  #timeoutMs: number;
  #library?: LttngCtlLibrary;
  #outputs = new Map<string, { dir: string; at: number }>();

  /** Build a controller. */
  constructor(options: LttngControlOptions = {}) {
    this.#runner = options.runner ?? denoProcessRunner;
    this.#binary = options.binary ?? "lttng";
    this.#timeoutMs = options.timeoutMs ?? 8000;
    this.#library = options.library;
  }

  /** The library, while it may be used (not after a call that did not finish in time). */
  get #lib(): LttngCtlLibrary | undefined {
    return this.#library?.poisoned === undefined ? this.#library : undefined;
  }

  /** How actions run: `liblttng-ctl` or `the lttng command`, and why. */
  get mode(): string {
    if (this.#library === undefined) return "the lttng command";
    return this.#library.poisoned ?? "liblttng-ctl (the lttng command as the fallback)";
  }

  async #lttng(args: string[], what: string): Promise<ProcessResult> {
    const r = await this.#runner.run(this.#binary, ["--no-sessiond", ...args], {
      timeoutMs: this.#timeoutMs,
    });
    if (r.spawnError !== undefined) {
      throw new LttngActionError(`Cannot ${what}: ${r.spawnError} (install lttng-tools)`);
    }
    if (r.timedOut) {
      throw new LttngActionError(
        `Cannot ${what}: lttng did not finish within ${this.#timeoutMs} ms and was killed`,
      );
    }
    if (r.code !== 0) {
      throw new LttngActionError(`Cannot ${what}: ${lttngError(r)}`);
    }
    return r;
  }

  /** All sessions of the session daemon this user talks to. */
  async listSessions(): Promise<SessionInfo[]> {
    const r = await this.#lttng(["--mi", "xml", "list"], "list the sessions");
    return parseSessionList(r.stdout);
  }

  /**
   * `lttng snapshot record` on `session`, named `name`, with the action's output options.
   * Resolves to where the snapshot went.
   */
  async snapshot(session: string, name: string, action: SnapshotAction): Promise<SnapshotResult> {
    // Where the output goes when the action names none: the session's snapshot output,
    // asked at the same time as the snapshot, not before it (the crash is held meanwhile).
    const sessionOutput = action.url === undefined && action.ctrlUrl === undefined &&
      action.path === undefined;
    const [, outputDir] = await Promise.all([
      this.#record(session, name, action),
      sessionOutput ? this.#cachedOutput(session) : action.path,
    ]);
    const location = await locate(action, name, outputDir);
    if (!sessionOutput || !location.endsWith("-*")) return { location };
    // Not where the session's output was a minute ago: it changed (the session was
    // destroyed and created again, or given another output). Ask again.
    this.#outputs.delete(session);
    return { location: await locate(action, name, await this.#cachedOutput(session)) };
  }

  /** Take the snapshot: through the library, else (or when it refuses) the command. */
  async #record(session: string, name: string, action: SnapshotAction): Promise<void> {
    const lib = this.#lib;
    if (lib !== undefined) {
      try {
        return await lib.snapshot(session, name, action);
      } catch (err) {
        if (!(err instanceof LttngCtlError) || err.code === undefined) {
          throw new LttngActionError(
            `Cannot snapshot session "${session}": ${(err as Error).message}`,
          );
        }
        // A refusal: the command makes the same call again and says why in LTTng's words.
      }
    }
    const args = ["snapshot", "record", `--session=${session}`, `--name=${name}`];
    if (action.maxSize !== undefined) args.push(`--max-size=${action.maxSize}`);
    if (action.ctrlUrl !== undefined && action.dataUrl !== undefined) {
      args.push(`--ctrl-url=${action.ctrlUrl}`, `--data-url=${action.dataUrl}`);
    } else if (action.url !== undefined) {
      args.push(action.url);
    } else if (action.path !== undefined) {
      args.push(`file://${action.path}`);
    }
    await this.#lttng(args, `snapshot session "${session}"`);
  }

  /**
   * The session's snapshot output, remembered for a minute: a snapshot through the library
   * takes a few milliseconds, and asking the command every time would double the hold.
   */
  async #cachedOutput(session: string): Promise<string | undefined> {
    const hit = this.#outputs.get(session);
    if (hit !== undefined && performance.now() - hit.at < 60_000) return hit.dir;
    const dir = await this.snapshotOutput(session).catch(() => undefined);
    if (this.#outputs.size > 1000) this.#outputs.clear();
    if (dir !== undefined) this.#outputs.set(session, { dir, at: performance.now() });
    return dir;
  }

  /** The session's snapshot output directory or URL (`lttng snapshot list-output`). */
  async snapshotOutput(session: string): Promise<string | undefined> {
    const r = await this.#lttng(
      ["--mi", "xml", "snapshot", "list-output", `--session=${session}`],
      `read the snapshot output of session "${session}"`,
    );
    const url = /<ctrl_url>([^<]*)<\/ctrl_url>/.exec(r.stdout)?.[1];
    return url === undefined ? undefined : unescapeXml(url);
  }

  /** `lttng stop` on `session`. */
  async stop(session: string): Promise<void> {
    const lib = this.#lib;
    if (lib !== undefined) {
      try {
        return await lib.stop(session);
      } catch (err) {
        if (!(err instanceof LttngCtlError) || err.code === undefined) {
          throw new LttngActionError(`Cannot stop session "${session}": ${(err as Error).message}`);
        }
        // A refusal: the command makes the same call again and says why in LTTng's words.
      }
    }
    // --no-wait: recording stops at once; waiting for the consumer to flush data that a
    // snapshot session never writes out would hold the crashed process for seconds.
    await this.#lttng(["stop", "--no-wait", session], `stop session "${session}"`);
  }
}

/** Where a snapshot named `name` went: a directory, or a URL and the name on a relayd. */
async function locate(
  action: SnapshotAction,
  name: string,
  outputDir: string | undefined,
): Promise<string> {
  const remote = action.url ?? action.ctrlUrl;
  if (remote !== undefined && !remote.startsWith("file://")) return `${remote} (${name})`;
  const dir = remote !== undefined ? remote.slice("file://".length) : outputDir;
  if (dir === undefined) return name;
  return (await findSnapshotDir(dir, name)) ?? `${dir}/${name}-*`;
}

/**
 * The newest entry of `dir` called `name-<date>-<time>-<n>`, as a full path, among those
 * {@linkcode snapshotDirProblem} trusts: an output others can write could hold a newer
 * directory of that name, planted for root to read.
 */
async function findSnapshotDir(dir: string, name: string): Promise<string | undefined> {
  let best: { path: string; mtime: number } | undefined;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory || !entry.name.startsWith(`${name}-`)) continue;
      const path = `${dir.replace(/\/+$/, "")}/${entry.name}`;
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      if (best !== undefined && mtime < best.mtime) continue;
      if ((await snapshotDirProblem(path, { contents: false })) === undefined) {
        best = { path, mtime };
      }
    }
  } catch {
    return undefined;
  }
  return best?.path;
}

/** Options of {@linkcode snapshotDirProblem}. */
export interface SnapshotDirOptions {
  /** Whom to trust. @default root and this process's uid and gid */
  rule?: TrustRule;
  /** The filesystem. @default the real one */
  fs?: PathFs;
  /**
   * Also check every file inside (what `show` reads). The daemon picking a snapshot right
   * after LTTng wrote it checks only the directory and those above it: no one else can own
   * or replace it there, and walking a snapshot being written would cost the held crash
   * time. @default true
   */
  contents?: boolean;
}

/**
 * Whether `gid` is the private group of `uid` (its primary group, which no other user has as
 * theirs nor is a member of), by the texts of /etc/passwd and /etc/group: LTTng makes
 * snapshot directories 0770 with the owner's group, and a group that others share would
 * let them write there. A group not in /etc/group (NSS) is not known to be private.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPrivateGroup } from "./control.ts";
 *
 * const passwd = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
 * assert.equal(isPrivateGroup(1000, 1000, passwd, "alice:x:1000:\n"), true);
 * assert.equal(isPrivateGroup(1000, 1000, passwd, "alice:x:1000:bob\n"), false);
 * assert.equal(isPrivateGroup(1000, 100, passwd, "users:x:100:\n"), false);
 * ```
 */
export function isPrivateGroup(uid: number, gid: number, passwd: string, group: string): boolean {
  const fields = (text: string) =>
    text.split("\n").map((l) => l.split(":")).filter((f) => f.length >= 4);
  const users = fields(passwd);
  const name = users.find((f) => f[2] === String(uid))?.[0];
  if (name === undefined || users.find((f) => f[2] === String(uid))?.[3] !== String(gid)) {
    return false;
  }
  if (users.some((f) => f[2] !== String(uid) && f[3] === String(gid))) return false;
  const entries = fields(group).filter((f) => f[2] === String(gid));
  return entries.length === 1 &&
    entries[0][3].split(",").every((m) => m.trim() === "" || m.trim() === name);
}

/**
 * This process's group, where it is its user's private one ({@linkcode isPrivateGroup}):
 * `Deno.gid()` (the `gid` of the sys permission; /proc/self/status needs `--allow-all`).
 */
async function ownGroups(uid: number): Promise<number[]> {
  let gid: number | null;
  try {
    gid = Deno.gid();
  } catch {
    return [];
  }
  if (gid === null || gid === 0) return [];
  const [passwd, group] = await Promise.all(
    ["/etc/passwd", "/etc/group"].map((f) => Deno.readTextFile(f).catch(() => "")),
  );
  return isPrivateGroup(uid, gid, passwd, group) ? [gid] : [];
}

/**
 * Why the local snapshot `path` cannot be trusted to be one LTTng took, or undefined when
 * it can: it must be a directory, it and everything in it owned by root or this process's
 * user (the session's owner: a daemon acts on its own user's sessions) and writable by no
 * one else (LTTng makes them 0770 with the owner's group, trusted where it is the user's
 * private group), with no symlink inside, and every
 * directory above it as well (a sticky one, like /tmp, may be writable by others). The
 * daemon picks a snapshot with it, and `show` checks it again before babeltrace2 reads it.
 */
export async function snapshotDirProblem(
  path: string,
  options: SnapshotDirOptions = {},
): Promise<{ message: string; untrusted: boolean } | undefined> {
  const uid = Deno.uid();
  const rule = options.rule ?? {
    owners: uid === null || uid === 0 ? [0] : [0, uid],
    groups: [0, ...(uid === null || uid === 0 ? [] : await ownGroups(uid))],
    stickyParents: true,
  };
  const trust = new PathTrust(rule, { fs: options.fs });
  let real: string | undefined;
  try {
    real = await trust.chain(path);
    if (real === undefined) return { message: `${path} does not exist`, untrusted: false };
    if (!(await (options.fs ?? Deno).lstat(real)).isDirectory) {
      return { message: `${path} is not a directory`, untrusted: true };
    }
    if (trust.problems.length === 0 && options.contents !== false) {
      await trust.tree(real, "refuse");
    }
  } catch (err) {
    return { message: `cannot check ${path}: ${(err as Error).message}`, untrusted: false };
  }
  if (trust.problems.length === 0) return undefined;
  return {
    message: `someone other than its owner could have written it: ${
      describeProblems(trust.problems)
    }`,
    untrusted: true,
  };
}

/** The `Error: ...` lines of lttng's output, or the exit code. */
export function lttngError(r: ProcessResult): string {
  const lines = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim())
    .filter((l) => /^(Error|Warning|PERROR)/.test(l))
    .map((l) => l.replace(/^Error:\s*/, ""));
  if (lines.length > 0) return lines.join("; ");
  const detail = r.stderr.trim().split("\n").slice(-2).join("; ");
  return `lttng exited with code ${r.code}${detail ? `: ${detail}` : ""}`;
}

/** Parse `lttng --mi xml list` into sessions. */
export function parseSessionList(xml: string): SessionInfo[] {
  const sessions: SessionInfo[] = [];
  const re = /<session>([\s\S]*?)<\/session>/g;
  for (const m of xml.matchAll(re)) {
    const body = m[1];
    const field = (tag: string) => {
      const v = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1];
      return v === undefined ? undefined : unescapeXml(v);
    };
    const name = field("name");
    if (name === undefined) continue;
    sessions.push({
      name,
      path: field("path") ?? "",
      enabled: field("enabled") === "true",
      snapshotMode: field("snapshot_mode") === "1",
    });
  }
  return sessions;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}
