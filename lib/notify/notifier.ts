/**
 * The core dump notifier: tells the root daemon, and the crashing user's own daemon if
 * one runs, then releases the dump once they have replied (or the deadline passed).
 * This is the hot path run by the kernel on every crash: it imports only the codec.
 *
 * @module
 */
import { NOTIFY_SOCKET_NAME, ROOT_RUN_DIR, userRunDir } from "../core/paths.ts";
import { encodeOnAnyCoreDump, NotifyStatus, readNotifyReply } from "../wire/notify.ts";
import { type ByteReader, type ByteWriter, writeAll } from "../wire/frame.ts";
import { encodeCoreResult, encodeOnAnyCoreDumpExt } from "../wire/notify_ext.ts";
import type { NotifyArgs } from "./args.ts";
import type { CoreFate } from "../protocol/records.ts";
import { octalMode, ownershipProblem } from "../core/ownership.ts";

/** File facts the safety checks need (from `lstat`, which never follows a link). */
export interface FileFacts {
  /** It is a unix socket. */
  isSocket: boolean;
  /** It is a directory (not a link to one). */
  isDirectory: boolean;
  /** Owner. */
  uid: number;
  /** Mode bits. */
  mode: number;
  /** Inode. */
  ino: number;
}

/** A connection, as far as the notifier uses it. */
export interface NotifierConn extends ByteReader, ByteWriter {
  /**
   * Who listens on the other end (`SO_PEERCRED`): the notifier talks only to a peer
   * that runs as the socket's expected owner. Undefined when unknown: refused.
   */
  readonly peer?: { pid: number; uid: number };
  /** Close it. */
  close(): void;
}

/** The notifier's side effects, injected so its logic is testable without a kernel. */
export interface NotifierIo {
  /** `lstat(path)`, or `undefined` when it does not exist. */
  lstat(path: string): Promise<FileFacts | undefined>;
  /** Connect to a unix socket. */
  connect(path: string): Promise<NotifierConn>;
  /** Home directory of `uid` (from the password database). */
  homeOf(uid: number): Promise<string | undefined>;
  /**
   * Take one of the `cap` slots of crashes of `uid` held at once (across notifier
   * processes, under the root daemon's `runDir`); resolves to the function that frees
   * it, or `undefined` when none is free (then the crash is not held).
   */
  holdSlot(runDir: string, uid: number, cap: number): Promise<(() => void) | undefined>;
  /**
   * Release the dump: close the core pipe, or keep the core; resolves to what happened
   * to the core when it was kept (or not kept for a reason worth recording).
   */
  releaseCore(): void | Promise<CoreFate | undefined>;
  /**
   * Release the dump at once, keeping and forwarding nothing: for a crash past its uid's
   * share of held crashes. Without it, {@linkcode NotifierIo.releaseCore} is used.
   */
  dropCore?(): void;
}

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

/** What one notifier run did. */
export interface NotifierRun {
  /** Each target's outcome. */
  deliveries: Delivery[];
  /** Problems to journal (empty when all went well). */
  failures: string[];
  /** Milliseconds from start to release. */
  heldMs: number;
  /** What happened to the core, when it was kept or had to be. */
  core?: CoreFate;
  /** The crash was past its uid's cap of held crashes: sent, not waited for. */
  capped?: boolean;
}

/** How long the notifier holds a dump waiting for replies, unless told otherwise. */
export const DEFAULT_HOLD_MS = 10_000;
/**
 * How long the crashing user's own daemon may hold the dump (its socket is the user's:
 * a listener that never replies must not hold crashes for the root daemon's budget).
 */
export const USER_HOLD_MS = 2_000;
/** How many crashes of one uid (other than root) are held at once, machine-wide. */
export const HELD_PER_UID = 4;
/** Bound on sending to each daemon, past the cap, when no reply is waited for. */
export const SEND_ONLY_MS = 250;

/** Options of {@linkcode runNotifier}. */
export interface NotifierOptions {
  /** The root daemon's run directory. @default "/var/run/lttng" */
  runDir?: string;
  /** How long to hold the dump waiting for replies, in ms. @default 10000 */
  timeoutMs?: number;
  /** Aborts at the deadline instead of a timer of `timeoutMs` (and sets it). */
  signal?: AbortSignal;
  /** How long the user's own daemon may hold the dump, in ms. @default USER_HOLD_MS */
  userHoldMs?: number;
  /** Crashes of one non-root uid held at once. @default HELD_PER_UID */
  heldPerUid?: number;
  /**
   * Follow-ups may be sent (a chained handler's result): ask each daemon for the
   * crash's id even without the kernel's facts. @default true with a core directory
   */
  followUps?: boolean;
}

/** Send the crash to its daemons, wait for their replies (bounded), release the dump. */
export async function runNotifier(
  args: NotifyArgs,
  io: NotifierIo,
  options: NotifierOptions = {},
): Promise<NotifierRun> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOLD_MS;
  const failures = [...args.warnings];
  const base = {
    pid: args.pid,
    // (uid_t)-1 when the kernel gave nothing usable: never mistaken for root.
    uid: args.uid ?? 0xffff_ffff,
    gid: args.gid,
    execName: args.execName.replaceAll("\0", ""),
    hostname: args.hostname.replaceAll("\0", ""),
  };
  let frame: Uint8Array;
  const facts = args.facts;
  const followUps = options.followUps ?? args.coreDir !== undefined;
  if (facts === undefined && args.tid === undefined && !followUps) {
    // The RFC's line: the RFC's message, and nothing follows it.
    frame = encodeOnAnyCoreDump(base);
  } else {
    // The executable comes from the kernel (%E), not from /proc/PID: Deno grants reads
    // under /proc/PID only with --allow-all, which the notifier never gets. Each daemon
    // replies with the crash's id, which the follow-ups name.
    frame = encodeOnAnyCoreDumpExt({
      ...base,
      ...facts,
      ...(args.tid === undefined ? {} : { tid: args.tid }),
      replyId: true,
    });
  }
  const uid = args.uid;
  // A crash past its uid's cap is sent, not held: no uid can fill core_pipe_limit. Root's
  // own crashes are not capped (no other user can cause them). The slot is held until
  // the dump is released (the core kept, the chained handler done): all the time the
  // kernel counts this helper against core_pipe_limit.
  const runDir = options.runDir ?? ROOT_RUN_DIR;
  let freeSlot: (() => void) | undefined;
  let capped = false;
  if (uid !== 0) {
    freeSlot = await io.holdSlot(runDir, uid ?? 0xffff_ffff, options.heldPerUid ?? HELD_PER_UID)
      .catch(() => undefined);
    capped = freeSlot === undefined;
  }
  // The daemons record that a capped crash was released at once (the ext frame's flag).
  if (capped) frame = releasedFrame(base, args);
  const rootBudget = capped ? Math.min(SEND_ONLY_MS, timeoutMs) : timeoutMs;
  const userBudget = Math.min(rootBudget, options.userHoldMs ?? USER_HOLD_MS);
  const deadline = Promise.withResolvers<void>();
  // With a signal (the CLI's AbortSignal.timeout), no timer is armed here: in Deno the
  // first setTimeout or clearTimeout loads the timers machinery, several milliseconds
  // and megabytes on the path that holds the crashed process.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const signal = capped ? AbortSignal.timeout(rootBudget) : options.signal;
  if (signal !== undefined) {
    if (signal.aborted) deadline.resolve();
    else signal.addEventListener("abort", () => deadline.resolve(), { once: true });
  } else {
    timer = setTimeout(deadline.resolve, timeoutMs);
  }
  const deliveries: Delivery[] = [];
  const owners = new Map<Delivery, number>();
  const deliverTo = async (t: Target, until: Promise<void>, budget: number) => {
    const d = await deliver(t, frame, io, until, budget, !capped);
    deliveries.push(d);
    owners.set(d, t.owner);
  };
  // The root daemon first, at once: the user's home is looked up meanwhile.
  const pending = [
    deliverTo(
      { target: "root", dir: runDir, owner: 0 },
      deadline.promise,
      rootBudget,
    ),
  ];
  if (uid !== undefined && uid !== 0) {
    // The user's daemon has a budget of its own, within the root daemon's deadline.
    const userSignal = AbortSignal.timeout(userBudget);
    const userDeadline = Promise.race([
      deadline.promise,
      new Promise<void>((resolve) =>
        userSignal.addEventListener("abort", () => resolve(), { once: true })
      ),
    ]);
    pending.push((async () => {
      const home = await io.homeOf(uid).catch(() => undefined);
      if (home !== undefined && home.startsWith("/")) {
        await deliverTo(
          { target: "user", dir: userRunDir(home.replace(/\/+$/, "")), owner: uid },
          userDeadline,
          userBudget,
        );
      }
    })());
  }
  let core: CoreFate | undefined;
  let heldMs = 0;
  try {
    try {
      await Promise.all(pending);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    heldMs = Math.round(performance.now() - started);
    if (capped && io.dropCore !== undefined) {
      io.dropCore();
    } else {
      try {
        core = (await io.releaseCore()) ?? undefined;
      } catch (err) {
        core = { kept: false, reason: `cannot keep the core: ${(err as Error).message}`, bytes: 0 };
      }
    }
  } finally {
    freeSlot?.();
  }
  if (core !== undefined) {
    // Loaded only for a follow-up: the hot path imports only what it runs.
    const { namingCrash } = await import("../wire/notify_ref.ts");
    // CORE_RESULT carries the kept core's path, or why it was not kept.
    const text = (core.kept ? core.path : core.reason) ?? "";
    const result = encodeCoreResult({ pid: args.pid, kept: core.kept, text, bytes: core.bytes });
    await Promise.all(
      deliveries.filter((d) => d.outcome === "replied").map((d) =>
        sendOnce(d.path, owners.get(d) ?? -1, namingCrash(result, d.crashId), io, 2000)
          .catch(() => {})
      ),
    );
  }
  for (const d of deliveries) {
    if (d.target === "root" && d.outcome === "absent") {
      failures.push(`no root daemon: ${d.reason}`);
    } else if (d.outcome === "refused" || d.outcome === "failed") {
      failures.push(`${d.target} daemon at ${d.path}: ${d.reason}`);
    } else if (d.outcome === "replied" && d.status === NotifyStatus.UNAVAILABLE) {
      failures.push(`${d.target} daemon at ${d.path}: it was stopping: no trigger ran`);
    } else if (d.outcome === "replied" && d.status === NotifyStatus.TIMEOUT) {
      failures.push(`${d.target} daemon at ${d.path}: actions did not finish in time`);
    }
  }
  if (capped) {
    failures.push(
      `uid ${uid ?? "unknown"} has ${
        options.heldPerUid ?? HELD_PER_UID
      } crashes held already: released at once (sent without waiting, core not kept)`,
    );
  }
  return {
    deliveries,
    failures,
    heldMs,
    ...(core === undefined ? {} : { core }),
    ...(capped ? { capped } : {}),
  };
}

/** The crash's ONANYCOREDUMP_EXT frame with the RELEASED flag: it is not held. */
function releasedFrame(base: Parameters<typeof encodeOnAnyCoreDump>[0], args: NotifyArgs) {
  return encodeOnAnyCoreDumpExt({
    ...base,
    ...args.facts,
    ...(args.tid === undefined ? {} : { tid: args.tid }),
    released: true,
  });
}

/**
 * Send `frame` (a follow-up that needs no reply, such as CHAIN_RESULT) to each daemon
 * that replied in `deliveries`, on a new connection each, within `timeoutMs` each, naming
 * the crash by the id that daemon's reply gave; only to a peer that runs as that socket's
 * owner (root for the root daemon, `uid` for the user's), as the first connection was. A
 * failed send is tried once more; resolves to what still failed, for the journal (the
 * crash was handled already: nothing waits on it).
 */
export async function sendToReplied(
  deliveries: readonly Delivery[],
  uid: number | undefined,
  frame: Uint8Array,
  io: Pick<NotifierIo, "connect">,
  timeoutMs = 2000,
): Promise<string[]> {
  const { namingCrash } = await import("../wire/notify_ref.ts");
  const failures = await Promise.all(
    deliveries.filter((d) => d.outcome === "replied").map(async (d) => {
      const owner = d.target === "root" ? 0 : uid ?? -1;
      const named = namingCrash(frame, d.crashId);
      try {
        await sendOnce(d.path, owner, named, io, timeoutMs);
      } catch {
        try {
          await sendOnce(d.path, owner, named, io, timeoutMs);
        } catch (err) {
          return `cannot tell ${d.path}: ${(err as Error).message}`;
        }
      }
      return undefined;
    }),
  );
  return failures.filter((f) => f !== undefined);
}

/**
 * Send `frame` on a new connection to `path` and close, within `timeoutMs`; only to a
 * peer that runs as `owner`, as the first connection was.
 */
async function sendOnce(
  path: string,
  owner: number,
  frame: Uint8Array,
  io: Pick<NotifierIo, "connect">,
  timeoutMs: number,
): Promise<void> {
  let conn: NotifierConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      (async () => {
        conn = await io.connect(path);
        if (conn.peer?.uid !== owner) throw new Error("the peer is not the socket's owner");
        await writeAll(conn, frame);
      })(),
      new Promise((_, reject) => timer = setTimeout(() => reject(new Error("timeout")), timeoutMs)),
    ]);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/** Where a notification goes: a daemon's run directory, owned by `owner`. */
interface Target {
  target: Delivery["target"];
  dir: string;
  owner: number;
}

async function deliver(
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
