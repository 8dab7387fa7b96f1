/**
 * The control socket's commands: set, list, remove, history, status, and the WATCH
 * stream.
 *
 * @module
 */
import type { Listeners } from "../core/listeners.ts";
import {
  ControlCommand,
  type ControlReply,
  ControlStatus,
  decodeControlRequest,
  encodeControlReply,
} from "../wire/control.ts";
import type {
  ControlCommandCode,
  HistoryReply,
  HistoryRequest,
  ListReply,
  RemoveReply,
  ReplyOf,
  SetReply,
  StatusReply,
} from "../protocol/control.ts";
import type { ChainEvent, WatchEvent, WatchingEvent } from "../protocol/watch.ts";
import type { CrashHandler } from "./crash_handler.ts";
import type { ReportQueue } from "./report_queue.ts";
import type { CrashRecord } from "../protocol/records.ts";
import type { FrameResult } from "./connections.ts";
import type { TriggerStore } from "../store/trigger_store.ts";
import { StoreError } from "../store/schema.ts";
import { TriggerExistsError } from "../store/triggers.ts";
import { ON_ANY_CORE_DUMP, type TriggerSpec } from "../core/trigger.ts";
import { conditionMatches, execFilterWarning } from "../core/trigger_match.ts";
import { validateTriggerSpec } from "../core/trigger_validate.ts";
import type { SessionInfo } from "../lttng/control.ts";
import { sessionInactivity, sessionProblem } from "../lttng/session_checks.ts";
import type { PeerCredentials } from "./libc.ts";

/** What the control handler needs from the daemon. */
export interface ControlContext {
  /** The store. */
  store: TriggerStore;
  /** Uid of the daemon (the owner of its triggers). */
  uid: number;
  /** Lists LTTng sessions, to warn about a trigger on a missing session. */
  listSessions(): Promise<SessionInfo[]>;
  /** Facts for `status`. */
  status(): StatusReply;
  /** Log line sink. @default nothing */
  log?: (line: string) => void;
  /**
   * Who sent the request (`SO_PEERCRED`). Only the daemon's uid and root may change
   * triggers; anyone else the socket lets in (group `tracing`) reads. @default unknown
   */
  peer?: PeerCredentials;
}

/** Commands that change the daemon's triggers. */
const CHANGES: ReadonlySet<number> = new Set([ControlCommand.SET, ControlCommand.REMOVE]);

/**
 * Why `peer` may not run `cmd` on the daemon of `daemonUid`, or `undefined` when it may.
 * Reading (list, history, status, watch) is for whoever the socket lets in: root, the
 * daemon's user and, on root's daemon, group `tracing` (0660). Changing triggers (set,
 * remove) is for root and the daemon's user only: root's triggers make root's LTTng
 * write where they say. A peer whose credentials are unknown changes nothing.
 *
 * @example
 * ```ts
 * import { controlDenial } from "./control_handler.ts";
 * import { ControlCommand } from "../wire/control.ts";
 * controlDenial(ControlCommand.LIST, { pid: 9, uid: 1000, gid: 1000 }, 0); // undefined
 * controlDenial(ControlCommand.SET, { pid: 9, uid: 1000, gid: 1000 }, 0); // "only root ..."
 * ```
 */
export function controlDenial(
  cmd: number,
  peer: PeerCredentials | undefined,
  daemonUid: number,
): string | undefined {
  if (!CHANGES.has(cmd)) return undefined;
  if (peer !== undefined && (peer.uid === 0 || peer.uid === daemonUid)) return undefined;
  const who = peer === undefined ? "a client whose uid is unknown" : `uid ${peer.uid}`;
  const owner = daemonUid === 0 ? "root" : `uid ${daemonUid} and root`;
  return `only ${owner} can change this daemon's triggers, and this is ${who}: members of group tracing may read (list, history, show, watch, status): run it as root (sudo lttng-trig ...)`;
}

/** A reply with no payload: a failure. */
type Failure = ControlReply<null>;

function ok<P>(payload: P): ControlReply<P> {
  return { status: ControlStatus.OK, error: "", payload };
}

function fail(status: number, error: string): Failure {
  return { status, error, payload: null };
}

/** Answer one control request (not WATCH: see {@linkcode answerControlFrame}). */
export async function handleControl<C extends ControlCommandCode>(
  cmd: C,
  request: unknown,
  ctx: ControlContext,
): Promise<ControlReply<ReplyOf<C> | null>>;
/** Answer one control request of a command that may be unknown. */
export async function handleControl(
  cmd: number,
  request: unknown,
  ctx: ControlContext,
): Promise<ControlReply<ReplyOf<ControlCommandCode> | null>>;
export async function handleControl(
  cmd: number,
  request: unknown,
  ctx: ControlContext,
): Promise<ControlReply<ReplyOf<ControlCommandCode> | null>> {
  const denied = controlDenial(cmd, ctx.peer, ctx.uid);
  if (denied !== undefined) {
    ctx.log?.(`control socket: refused command ${cmd} from ${peerText(ctx.peer)}`);
    return fail(ControlStatus.DENIED, denied);
  }
  try {
    switch (cmd) {
      case ControlCommand.SET: {
        const reply = await set(request, ctx);
        if (reply.payload !== null) ctx.log?.(`added trigger ${reply.payload.trigger.name}`);
        return reply;
      }
      case ControlCommand.LIST:
        return ok<ListReply>({ triggers: ctx.store.listTriggers() });
      case ControlCommand.REMOVE: {
        const name = (request as { name?: unknown } | null)?.name;
        if (typeof name !== "string" || name === "") {
          return fail(ControlStatus.INVALID, "remove needs a trigger name");
        }
        if (!ctx.store.removeTrigger(name)) {
          return fail(
            ControlStatus.NOT_FOUND,
            `no trigger named \`${name}\`: see 'lttng-trig list'`,
          );
        }
        return ok<RemoveReply>({ removed: name });
      }
      case ControlCommand.HISTORY:
        return history(request, ctx.store);
      case ControlCommand.STATUS:
        return ok<StatusReply>(ctx.status());
      default:
        return fail(ControlStatus.UNKNOWN_COMMAND, `unknown command ${cmd}`);
    }
  } catch (err) {
    if (err instanceof StoreError) return fail(ControlStatus.STORE_FAILED, err.message);
    return fail(ControlStatus.ERROR, err instanceof Error ? err.message : String(err));
  }
}

function peerText(peer: PeerCredentials | undefined): string {
  return peer === undefined ? "an unknown peer" : `pid ${peer.pid} uid ${peer.uid}`;
}

async function set(
  request: unknown,
  ctx: ControlContext,
): Promise<ControlReply<SetReply> | Failure> {
  const problems = validateTriggerSpec(request);
  if (problems.length > 0) return fail(ControlStatus.INVALID, problems.join("; "));
  const spec = request as TriggerSpec;
  const warnings = await sessionWarnings(spec, ctx);
  const exec = execFilterWarning(spec, ctx.uid);
  if (exec !== undefined) warnings.push(exec);
  try {
    const trigger = ctx.store.addTrigger(spec, ctx.uid);
    return ok<SetReply>({ trigger, warnings });
  } catch (err) {
    if (err instanceof TriggerExistsError) return fail(ControlStatus.EXISTS, err.message);
    throw err;
  }
}

async function sessionWarnings(spec: TriggerSpec, ctx: ControlContext): Promise<string[]> {
  let sessions: SessionInfo[];
  try {
    sessions = await ctx.listSessions();
  } catch (err) {
    return [
      `cannot check session "${spec.session}": ${err instanceof Error ? err.message : String(err)}`,
    ];
  }
  const session = sessions.find((s) => s.name === spec.session);
  return [
    sessionProblem(spec.session, spec.action, session),
    sessionInactivity(spec.session, spec.action, session),
  ].filter((w) => w !== undefined);
}

/**
 * HISTORY: `{limit?, id?, pid?, since?, exec?}`; `exec` is a glob on the exec name or the
 * executable's path, `since` an ISO 8601 time.
 */
function history(request: unknown, store: TriggerStore): ControlReply<HistoryReply> | Failure {
  const r = parseHistoryRequest(request);
  if (typeof r === "string") return fail(ControlStatus.INVALID, r);
  const exec = r.exec;
  const filter = {
    id: r.id,
    pid: r.pid,
    since: r.since === undefined ? undefined : new Date(r.since).toISOString(),
    match: exec === undefined
      ? undefined
      : (c: CrashRecord) => conditionMatches({ type: ON_ANY_CORE_DUMP, exec }, c),
  };
  if (r.bySignature) {
    return ok<HistoryReply>({ crashes: [], signatures: store.signatureGroups(filter) });
  }
  const crashes = store.listCrashes({ limit: r.limit, ...filter });
  return ok<HistoryReply>({ crashes: r.fullReport ? crashes : crashes.map(reportState) });
}

/** `crash` with only its report's state and reason: the backtraces are `show`'s. */
export function reportState(crash: CrashRecord): CrashRecord {
  if (crash.report === undefined) return crash;
  const { state, reason } = crash.report;
  return { ...crash, report: { state, ...(reason === undefined ? {} : { reason }) } };
}

/** The HISTORY request in `request` (anything but an object reads as `{}`), or why not. */
function parseHistoryRequest(request: unknown): HistoryRequest | string {
  const r: Record<string, unknown> = typeof request === "object" && request !== null
    ? { ...request }
    : {};
  const integer = (v: unknown, min: number): v is number | undefined =>
    v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v >= min);
  const { limit, id, pid, since, exec, fullReport, bySignature } = r;
  if (!integer(limit, 1)) return "history's limit must be a positive integer";
  if (!integer(id, 1)) return "history's id must be a positive integer";
  if (!integer(pid, 0)) return "history's pid must be a non-negative integer";
  if (since !== undefined && (typeof since !== "string" || Number.isNaN(Date.parse(since)))) {
    return "history's since must be an ISO 8601 time";
  }
  if (exec !== undefined && (typeof exec !== "string" || exec === "")) {
    return "history's exec must be a non-empty glob";
  }
  if (fullReport !== undefined && typeof fullReport !== "boolean") {
    return "history's fullReport must be a boolean";
  }
  if (bySignature !== undefined && typeof bySignature !== "boolean") {
    return "history's bySignature must be a boolean";
  }
  return { limit, id, pid, since, exec, fullReport, bySignature };
}

/** What WATCH needs from the daemon. */
export interface WatchContext {
  /** The crashes to follow. */
  crashes: Pick<CrashHandler, "listen" | "listenReceived">;
  /** The chained handlers' runs as they are recorded (`install --chain`). */
  chains?: Pick<Listeners<ChainEvent>, "listen">;
  /** The crash reports to follow, when the daemon makes them. */
  reports?: Pick<ReportQueue, "listen">;
  /** Aborted when the daemon stops: every stream ends. */
  stopping: AbortSignal;
  /** Milliseconds without events before a heartbeat. @default 15000 */
  heartbeatMs?: number;
  /** Most events queued for a slow watcher before the oldest are dropped. @default 1000 */
  maxQueued?: number;
}

/**
 * WATCH: every crash as it arrives and every outcome, with a heartbeat every 15 s;
 * ends when the daemon stops. A watcher that falls more than 1000 events behind loses
 * the oldest, and is told how many.
 */
export async function* watchEvents(ctx: WatchContext): AsyncGenerator<WatchEvent> {
  const heartbeatMs = ctx.heartbeatMs ?? 15_000;
  const maxQueued = ctx.maxQueued ?? 1000;
  const queue: WatchEvent[] = [];
  let dropped = 0;
  let wake: (() => void) | undefined;
  const push = (event: WatchEvent) => {
    queue.push(event);
    if (queue.length > maxQueued) {
      queue.shift();
      dropped++;
    }
    wake?.();
  };
  const offReceived = ctx.crashes.listenReceived((c) => push({ type: "crash", ...c }));
  const offDone = ctx.crashes.listen((c) => push({ type: "outcome", ...c }));
  const offChain = ctx.chains?.listen(push);
  const offReport = ctx.reports?.listen((r) => push({ type: "report", ...r }));
  const onStop = () => wake?.();
  ctx.stopping.addEventListener("abort", onStop);
  try {
    while (!ctx.stopping.aborted) {
      if (dropped > 0) {
        yield { type: "dropped", count: dropped };
        dropped = 0;
      }
      const event = queue.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const heartbeat = await new Promise<boolean>((resolve) => {
        wake = () => resolve(false);
        timer = setTimeout(() => resolve(true), heartbeatMs);
      });
      wake = undefined;
      clearTimeout(timer);
      if (heartbeat) yield { type: "heartbeat", time: new Date().toISOString() };
    }
  } finally {
    offReceived();
    offDone();
    offChain?.();
    offReport?.();
    ctx.stopping.removeEventListener("abort", onStop);
  }
}

async function* watchFrames(cmd: number, ctx: WatchContext): AsyncGenerator<Uint8Array> {
  for await (const event of watchEvents(ctx)) {
    yield encodeControlReply(cmd, ok<WatchEvent>(event));
  }
}

/**
 * Answer one frame of the control socket: WATCH starts a stream, any other command is
 * decoded and answered by {@linkcode handleControl}.
 */
export async function answerControlFrame(
  cmd: number,
  payload: Uint8Array,
  ctx: ControlContext & WatchContext,
): Promise<FrameResult> {
  if (cmd === ControlCommand.WATCH) {
    ctx.log?.("watch: a client follows crashes");
    return {
      reply: encodeControlReply(cmd, ok<WatchingEvent>({ type: "watching", pid: Deno.pid })),
      stream: watchFrames(cmd, ctx),
    };
  }
  let request: unknown;
  try {
    request = decodeControlRequest(payload);
  } catch (err) {
    return {
      reply: encodeControlReply(cmd, fail(ControlStatus.INVALID, (err as Error).message)),
      close: true,
    };
  }
  return { reply: encodeControlReply(cmd, await handleControl(cmd, request, ctx)) };
}
