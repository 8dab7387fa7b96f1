/**
 * The control socket's messages, typed once: for each command of
 * {@linkcode ControlCommand}, the request the client sends, the reply payload the daemon
 * answers with, and for WATCH the events that follow. The daemon's handler, the client,
 * the CLI and mod.ts all use these types; the bytes are lib/wire/control.ts's.
 *
 * @module
 */
import { ControlCommand } from "../wire/control.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import type { Trigger, TriggerSpec } from "../core/trigger.ts";
import type { CrashRecord, SignatureGroup, TriggerOutcome } from "./records.ts";
import type { ChainFate } from "./records.ts";
import type { Frame } from "./records.ts";

export { ControlCommand };

/** A control command code: a value of {@linkcode ControlCommand}. */
export type ControlCommandCode = (typeof ControlCommand)[keyof typeof ControlCommand];

/** SET: the trigger to add. */
export type SetRequest = TriggerSpec;
/** SET: the stored trigger, and warnings about its session. */
export interface SetReply {
  /** The trigger as stored (with its name and counters). */
  trigger: Trigger;
  /** What may keep it from working (a missing session, one not in snapshot mode). */
  warnings: string[];
}

/** LIST: no argument. */
export type ListRequest = Record<string, never> | null;
/** LIST: every trigger of the daemon. */
export interface ListReply {
  /** The triggers, in creation order. */
  triggers: Trigger[];
}

/** REMOVE: the trigger's name. */
export interface RemoveRequest {
  /** Name of the trigger to remove. */
  name: string;
}
/** REMOVE: the name removed. */
export interface RemoveReply {
  /** Name of the removed trigger. */
  removed: string;
}

/**
 * HISTORY: which crashes; `exec` is a glob on the exec name or the executable's path,
 * `since` an ISO 8601 time.
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
/** HISTORY: the matching crashes, oldest first. */
export interface HistoryReply {
  /** The crashes (none with `bySignature`). */
  crashes: CrashRecord[];
  /** With `bySignature`: the groups, the most recent last. */
  signatures?: SignatureGroup[];
}

/** STATUS: no argument. */
export type StatusRequest = Record<string, never> | null;
/** STATUS: facts about the running daemon. */
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

/** What the root daemon's watch of core_pattern saw since it started. */
export interface CorePatternWatchFacts {
  /** Seconds between two reads of core_pattern. */
  intervalS: number;
  /** The last time it put lttng-trig's chain back, and over which handler. */
  reapplied?: { time: string; handler: string };
  /** core_pattern no longer runs lttng-trig, since `time` (cleared when it does again). */
  lost?: { time: string; pattern: string };
}

/** WATCH: no argument. */
export type WatchRequest = Record<string, never> | null;

/** WATCH, first reply: the daemon follows crashes for this client. */
export interface WatchingEvent {
  /** Discriminant. */
  type: "watching";
  /** The daemon's pid. */
  pid: number;
}
/** WATCH: a crash arrived, before its actions. */
export type CrashEvent = { type: "crash" } & CrashFacts & {
  /** History id. */
  id: number;
  /** Where it came from: `notify` or `socket`. */
  source: string;
  /** When the daemon received it (ISO 8601). */
  time: string;
};
/** WATCH: a crash's actions have finished. */
export type OutcomeEvent = { type: "outcome" } & CrashFacts & {
  /** History id. */
  id: number;
  /** Triggers whose action ran. */
  fired: number;
  /** Of those, how many failed. */
  failed: number;
  /** Per-trigger outcomes. */
  results: TriggerOutcome[];
  /** The history outcome word. */
  outcome: string;
  /** Where it came from: `notify` or `socket`. */
  source: string;
  /** Its signature so far (the report's, once ready, may differ: see ReportEvent). */
  signature?: string;
};
/** WATCH: the chained crash handler (`install --chain`) of a crash ended, and was recorded. */
export interface ChainEvent {
  /** Discriminant. */
  type: "chain";
  /** History id of the crash. */
  id: number;
  /** The crash's pid. */
  pid: number;
  /** When the daemon recorded it (ISO 8601). */
  time: string;
  /** What the handler did. */
  chain: ChainFate;
}
/** WATCH: a crash's report is stored, after the crash's release (its kept core). */
export interface ReportEvent {
  /** Discriminant. */
  type: "report";
  /** History id of the crash. */
  id: number;
  /** The crash's pid. */
  pid: number;
  /** `ready` (possibly partial) or `failed`. */
  state: "ready" | "failed";
  /** The crashing thread's innermost frame that has a function name. */
  frame?: Frame;
  /** Why it failed. */
  reason?: string;
  /** The crash's signature, from the report's frames (or its signal and executable). */
  signature?: string;
}
/** WATCH: sent every 15 s without events, so a client can tell the daemon lives. */
export interface HeartbeatEvent {
  /** Discriminant. */
  type: "heartbeat";
  /** The daemon's clock (ISO 8601). */
  time: string;
}
/** WATCH: this watcher fell behind and lost its `count` oldest events. */
export interface DroppedEvent {
  /** Discriminant. */
  type: "dropped";
  /** Events lost. */
  count: number;
}
/** One frame of the WATCH stream, told apart by `type`. */
export type WatchEvent =
  | WatchingEvent
  | CrashEvent
  | OutcomeEvent
  | ChainEvent
  | ReportEvent
  | HeartbeatEvent
  | DroppedEvent;

/** Request and reply of each control command. */
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

/** The request payload of command `C`. */
export type RequestOf<C extends ControlCommandCode> = ControlMessages[C]["request"];
/** The reply payload of command `C`. */
export type ReplyOf<C extends ControlCommandCode> = ControlMessages[C]["reply"];

/** A control request: the command and its payload, told apart by `cmd`. */
export type ControlRequest = {
  [C in ControlCommandCode]: {
    /** The command. */
    cmd: C;
    /** Its payload. */
    request: RequestOf<C>;
  };
}[ControlCommandCode];

/** A successful reply to a control request, told apart by `cmd`. */
export type ControlReplyPayload = {
  [C in ControlCommandCode]: {
    /** The command answered. */
    cmd: C;
    /** The reply's payload. */
    payload: ReplyOf<C>;
  };
}[ControlCommandCode];
