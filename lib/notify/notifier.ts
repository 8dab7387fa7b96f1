/**
 * The core dump notifier: tells the root daemon, and the crashing user's own daemon if
 * one runs, then releases the dump once they have replied (or the deadline passed).
 * This is the hot path run by the kernel on every crash: it imports only the codec, and
 * loads a follow-up (lib/notify/follow_up.ts) only when there is one.
 *
 * @module
 */
import { ROOT_RUN_DIR, userRunDir } from "../core/paths.ts";
import { encodeOnAnyCoreDump, NotifyStatus } from "../wire/notify.ts";
import { encodeOnAnyCoreDumpExt } from "../wire/notify_ext.ts";
import type { NotifyArgs } from "./args.ts";
import { deliver, type Delivery, type Target } from "./deliver.ts";
import type { NotifierIo } from "./notifier_io.ts";
import type { CoreFate } from "../protocol/records.ts";

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
  const deliverTo = async (t: Target, until: Promise<void>, budget: number) => {
    deliveries.push(await deliver(t, frame, io, until, budget, !capped));
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
    const { sendCoreResult } = await import("./follow_up.ts");
    await sendCoreResult(deliveries, uid, args.pid, core, io);
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
