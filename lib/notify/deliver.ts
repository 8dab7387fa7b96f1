/**
 * One delivery of a crash to one daemon: the checks of its run directory and socket, the
 * connect, the peer's credentials, the socket's inode checked again, the exchange; all
 * within the notifier's deadline.
 *
 * @module
 */
import { NOTIFY_SOCKET_NAME } from "../core/paths.ts";
import { readNotifyReply } from "../wire/notify.ts";
import { writeAll } from "../wire/frame.ts";
import { octalMode, ownershipProblem } from "../core/ownership.ts";
import type { NotifierConn, NotifierIo } from "./notifier_io.ts";

/** One delivery's outcome. */
export interface Delivery {
  /** Socket path. */
  path: string;
  /** `root` or `user`. */
  target: "root" | "user";
  /**
   * Replied, sent (not waited for: past the per-uid cap), absent (no daemon), refused
   * (unsafe socket or peer), failed.
   */
  outcome: "replied" | "sent" | "absent" | "refused" | "failed";
  /** The daemon's status, when it replied. */
  status?: number;
  /** Triggers fired, when it replied. */
  fired?: number;
  /** The crash's id in that daemon's history, when its reply gave one: follow-ups name it. */
  crashId?: number;
  /** Why it was refused or failed. */
  reason?: string;
}

/** Where a notification goes: a daemon's run directory, owned by `owner`. */
export interface Target {
  target: Delivery["target"];
  dir: string;
  owner: number;
}

/**
 * Send `frame` to the daemon of `t` and, with `waitReply`, read its reply; within
 * `deadline` (`timeoutMs` is its length, for the message), checks included. Never
 * through a link, never to a socket or directory the target uid does not own, and only
 * to a peer that runs as that uid.
 */
export async function deliver(
  t: Target,
  frame: Uint8Array,
  io: NotifierIo,
  deadline: Promise<void>,
  timeoutMs: number,
  waitReply: boolean,
): Promise<Delivery> {
  const path = `${t.dir}/${NOTIFY_SOCKET_NAME}`;
  const base = { path, target: t.target };
  let conn: NotifierConn | undefined;
  let settled = false;
  let ino = -1;
  const timedOut = deadline.then((): Delivery => ({
    ...base,
    outcome: "failed",
    reason: `no reply within ${timeoutMs} ms`,
  }));
  // The checks are inside the race too: an lstat on a hung filesystem must not hold the dump.
  const attempt = check().then(
    (refusal) => refusal ?? exchange(),
  ).catch((err): Delivery => ({
    ...base,
    outcome: "failed",
    reason: err instanceof Error ? err.message : String(err),
  }));
  try {
    return await Promise.race([attempt, timedOut]);
  } finally {
    settled = true;
    try {
      conn?.close();
    } catch { /* closed */ }
  }

  async function check(): Promise<Delivery | undefined> {
    // Never through a link, never a socket or directory the target uid does not own, never
    // in a directory that others can write.
    const dir = await io.lstat(t.dir);
    if (dir === undefined) return { ...base, outcome: "absent", reason: `${t.dir} does not exist` };
    if (!dir.isDirectory) {
      return { ...base, outcome: "refused", reason: `${t.dir} is not a directory (a link?)` };
    }
    const dirProblem = ownershipProblem(dir, [t.owner]);
    if (dirProblem?.kind === "owner") {
      return { ...base, outcome: "refused", reason: `${t.dir} is owned by uid ${dirProblem.uid}` };
    }
    if (dirProblem?.kind === "writable") {
      return {
        ...base,
        outcome: "refused",
        reason: `${t.dir} is writable by others (mode ${octalMode(dirProblem.mode)})`,
      };
    }
    const sock = await io.lstat(path);
    if (sock === undefined) return { ...base, outcome: "absent", reason: `${path} does not exist` };
    if (!sock.isSocket) {
      return { ...base, outcome: "refused", reason: `${path} is not a socket (a link?)` };
    }
    // Only the owner: a socket's mode bits do not matter once its directory is safe.
    const sockProblem = ownershipProblem({ uid: sock.uid, mode: 0 }, [t.owner]);
    if (sockProblem?.kind === "owner") {
      return { ...base, outcome: "refused", reason: `${path} is owned by uid ${sockProblem.uid}` };
    }
    ino = sock.ino;
    return undefined;
  }

  async function exchange(): Promise<Delivery> {
    try {
      conn = await io.connect(path);
    } catch (err) {
      return { ...base, outcome: "absent", reason: `cannot connect: ${(err as Error).message}` };
    }
    if (settled) {
      // Connected after the deadline: the dump is released, nothing more to say.
      conn.close();
      return { ...base, outcome: "failed", reason: "connected after the deadline" };
    }
    // The path could have been swapped between the checks and the connect: the peer's
    // credentials say who really listens (an exchange of names keeps the inodes).
    if (conn.peer === undefined || conn.peer.uid !== t.owner) {
      const who = conn.peer === undefined ? "an unknown uid" : `uid ${conn.peer.uid}`;
      return {
        ...base,
        outcome: "refused",
        reason: `${path} is served by ${who}, not by its owner uid ${t.owner}`,
      };
    }
    const again = await io.lstat(path);
    if (again === undefined || again.ino !== ino || !again.isSocket) {
      return { ...base, outcome: "refused", reason: `${path} changed while connecting` };
    }
    await writeAll(conn, frame);
    if (!waitReply) return { ...base, outcome: "sent" };
    const r = await readNotifyReply(conn);
    if (r === null) {
      return { ...base, outcome: "failed", reason: "the daemon closed without replying" };
    }
    return {
      ...base,
      outcome: "replied",
      status: r.status,
      fired: r.fired,
      ...(r.crashId ? { crashId: r.crashId } : {}),
    };
  }
}
