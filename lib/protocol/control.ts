/**
 * The control socket's messages, typed once: for each command of
 * {@linkcode ControlCommand}, the request the client sends, the reply payload the daemon
 * answers with (the events of the WATCH stream that follow are lib/protocol/watch.ts's).
 * The daemon's handler, the client, the CLI and mod.ts all use these types; the bytes are
 * lib/wire/control.ts's.
 *
 * @module
 */
import { ControlCommand } from "../wire/control.ts";
import type { Trigger, TriggerSpec } from "../core/trigger.ts";
import type { CrashRecord, SignatureGroup } from "./records.ts";
import type { WatchingEvent, WatchRequest } from "./watch.ts";

export { ControlCommand };

/**
 * A control command code: a value of {@linkcode ControlCommand}.
 *
 * @example
 * ```ts
 * import { ControlCommand, type ControlCommandCode } from "./control.ts";
 * const reads: ControlCommandCode[] = [ControlCommand.LIST, ControlCommand.HISTORY];
 * ```
 */
export type ControlCommandCode = (typeof ControlCommand)[keyof typeof ControlCommand];

/**
 * SET: the trigger to add.
 *
 * @example
 * ```ts
 * import type { SetRequest } from "./control.ts";
 * const request: SetRequest = {
 *   session: "web",
 *   condition: { type: "OnAnyCoreDump" },
 *   action: { type: "stop" },
 * };
 * ```
 */
export type SetRequest = TriggerSpec;
/**
 * SET: the stored trigger, and warnings about its session.
 *
 * @example
 * ```ts
 * import type { SetReply } from "./control.ts";
 * function report(reply: SetReply): string[] {
 *   return [`Added trigger \`${reply.trigger.name}\`.`, ...reply.warnings.map((w) => `Warning: ${w}`)];
 * }
 * ```
 */
export interface SetReply {
  /** The trigger as stored (with its name and counters). */
  trigger: Trigger;
  /** What may keep it from working (a missing session, one not in snapshot mode). */
  warnings: string[];
}

/**
 * LIST: no argument.
 *
 * @example
 * ```ts
 * import type { ListRequest } from "./control.ts";
 * const request: ListRequest = {};
 * ```
 */
export type ListRequest = Record<string, never> | null;
/**
 * LIST: every trigger of the daemon.
 *
 * @example
 * ```ts
 * import type { ListReply } from "./control.ts";
 * const names = (reply: ListReply) => reply.triggers.map((t) => t.name);
 * ```
 */
export interface ListReply {
  /** The triggers, in creation order. */
  triggers: Trigger[];
}

/**
 * REMOVE: the trigger's name.
 *
 * @example
 * ```ts
 * import type { RemoveRequest } from "./control.ts";
 * const request: RemoveRequest = { name: "web-crash" };
 * ```
 */
export interface RemoveRequest {
  /** Name of the trigger to remove. */
  name: string;
}
/**
 * REMOVE: the name removed.
 *
 * @example
 * ```ts
 * import type { RemoveReply } from "./control.ts";
 * const said = (reply: RemoveReply) => `Removed trigger \`${reply.removed}\`.`;
 * ```
 */
export interface RemoveReply {
  /** Name of the removed trigger. */
  removed: string;
}

/**
 * HISTORY: which crashes; `exec` is a glob on the exec name or the executable's path,
 * `since` an ISO 8601 time.
 *
 * @example
 * ```ts
 * import type { HistoryRequest } from "./control.ts";
 * // The 20 newest crashes of an nginx process this week.
 * const request: HistoryRequest = {
 *   limit: 20,
 *   exec: "nginx*",
 *   since: new Date(Date.now() - 7 * 86_400_000).toISOString(),
 * };
 * ```
 */
export interface HistoryRequest {
  /** The newest `limit` matching crashes. */
  limit?: number;
  /** Only the crash with this history id. */
  id?: number;
  /** Only crashes of this pid. */
  pid?: number;
  /** Only crashes received since this ISO 8601 time. */
  since?: string;
  /** Only crashes whose exec name (or executable path) matches this glob. */
  exec?: string;
  /**
   * Each crash's whole report (its backtraces), as `show` needs; otherwise only its
   * state and why it failed.
   */
  fullReport?: boolean;
  /**
   * The matching crashes grouped by signature (`history --by-signature`) in `signatures`,
   * and no crash.
   */
  bySignature?: boolean;
}
/**
 * HISTORY: the matching crashes, oldest first.
 *
 * @example
 * ```ts
 * import type { HistoryReply } from "./control.ts";
 * function failed(reply: HistoryReply): number[] {
 *   return reply.crashes.filter((c) => c.outcome === "failed").map((c) => c.id);
 * }
 * ```
 */
export interface HistoryReply {
  /** The crashes (none with `bySignature`). */
  crashes: CrashRecord[];
  /** With `bySignature`: the groups, the most recent last. */
  signatures?: SignatureGroup[];
}

/**
 * STATUS: no argument.
 *
 * @example
 * ```ts
 * import type { StatusRequest } from "./control.ts";
 * const request: StatusRequest = {};
 * ```
 */
export type StatusRequest = Record<string, never> | null;
/**
 * STATUS: facts about the running daemon.
 *
 * @example
 * ```ts
 * import type { StatusReply } from "./control.ts";
 * const triggers = (status: StatusReply) => status.triggers;
 * ```
 */
export type StatusReply = {
  /** The daemon's pid. */
  pid: number;
  /** The daemon's uid (the owner of its triggers). */
  uid: number;
  /** Its run directory. */
  runDir: string;
  /** Its state directory. */
  stateDir: string;
  /** Path of its store. */
  store: string;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** How many triggers it holds. */
  triggers: number;
  /** Its coredump socket, or `null` when it does not listen on one. */
  coredumpSocket: string | null;
  /** The coredump socket was passed by systemd (lttng-trig.socket): it outlives the daemon. */
  coredumpSocketActivated?: true;
  /** Whether it cannot dump core into its own coredump socket, and why (root only). */
  selfDump?: { protected: boolean; reason: string };
  /**
   * The early path (the kernel's process connector): listening, with its counts, or not,
   * and why. Absent from a daemon that predates it.
   */
  earlyPath?:
    | {
      listening: true;
      /** `--connector=only`: no helper is expected. */
      only: boolean;
      announced: number;
      pinned: number;
      notPinned: number;
      overruns: number;
      others: number;
    }
    | { listening: false; reason: string };
  /** What its watch of core_pattern saw (root only: lib/install/pattern_watch.ts). */
  corePatternWatch?: CorePatternWatchFacts;
};

/**
 * What the root daemon's watch of core_pattern saw since it started.
 *
 * @example
 * ```ts
 * import type { CorePatternWatchFacts } from "./control.ts";
 * const lost = (w: CorePatternWatchFacts) => w.lost?.pattern;
 * ```
 */
export interface CorePatternWatchFacts {
  /** Seconds between two reads of core_pattern. */
  intervalS: number;
  /** The last time it put lttng-trig's chain back, and over which handler. */
  reapplied?: { time: string; handler: string };
  /** core_pattern no longer runs lttng-trig, since `time` (cleared when it does again). */
  lost?: { time: string; pattern: string };
}

/**
 * Request and reply of each control command.
 *
 * @example
 * ```ts
 * import { ControlCommand, type ControlMessages } from "./control.ts";
 * type Remove = ControlMessages[typeof ControlCommand.REMOVE]; // { request: RemoveRequest; reply: RemoveReply }
 * ```
 */
export interface ControlMessages {
  /** SET. */
  [ControlCommand.SET]: { request: SetRequest; reply: SetReply };
  /** LIST. */
  [ControlCommand.LIST]: { request: ListRequest; reply: ListReply };
  /** REMOVE. */
  [ControlCommand.REMOVE]: { request: RemoveRequest; reply: RemoveReply };
  /** HISTORY. */
  [ControlCommand.HISTORY]: { request: HistoryRequest | null; reply: HistoryReply };
  /** STATUS. */
  [ControlCommand.STATUS]: { request: StatusRequest; reply: StatusReply };
  /** WATCH: the first reply; the events follow as further replies. */
  [ControlCommand.WATCH]: { request: WatchRequest; reply: WatchingEvent };
}

/**
 * The request payload of command `C`.
 *
 * @example
 * ```ts
 * import { ControlCommand, type RequestOf } from "./control.ts";
 * const request: RequestOf<typeof ControlCommand.HISTORY> = { limit: 10, exec: "nginx*" };
 * ```
 */
export type RequestOf<C extends ControlCommandCode> = ControlMessages[C]["request"];
/**
 * The reply payload of command `C`.
 *
 * @example
 * ```ts
 * import type { ControlCommand, ReplyOf } from "./control.ts";
 * const count = (reply: ReplyOf<typeof ControlCommand.LIST>) => reply.triggers.length;
 * ```
 */
export type ReplyOf<C extends ControlCommandCode> = ControlMessages[C]["reply"];

/**
 * A control request: the command and its payload, told apart by `cmd`.
 *
 * @example
 * ```ts
 * import type { ControlRequest } from "./control.ts";
 * import { ControlCommand } from "../wire/control.ts";
 * const request: ControlRequest = { cmd: ControlCommand.REMOVE, request: { name: "web-crash" } };
 * ```
 */
export type ControlRequest = {
  [C in ControlCommandCode]: {
    /** The command. */
    cmd: C;
    /** Its payload. */
    request: RequestOf<C>;
  };
}[ControlCommandCode];

/**
 * A successful reply to a control request, told apart by `cmd`.
 *
 * @example
 * ```ts
 * import type { ControlReplyPayload } from "./control.ts";
 * import { ControlCommand } from "../wire/control.ts";
 * function count(r: ControlReplyPayload): number {
 *   return r.cmd === ControlCommand.LIST ? r.payload.triggers.length : 0;
 * }
 * ```
 */
export type ControlReplyPayload = {
  [C in ControlCommandCode]: {
    /** The command answered. */
    cmd: C;
    /** The reply's payload. */
    payload: ReplyOf<C>;
  };
}[ControlCommandCode];
