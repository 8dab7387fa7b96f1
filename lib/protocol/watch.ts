/**
 * The WATCH stream of the control socket: after its first reply ({@linkcode WatchingEvent}),
 * the daemon sends one reply per event, each told apart by `type`, until the client
 * closes.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";
import type { ChainFate, Frame, TriggerOutcome } from "./records.ts";

/**
 * WATCH: no argument.
 *
 * @example
 * ```ts
 * import type { WatchRequest } from "./watch.ts";
 * const request: WatchRequest = {};
 * ```
 */
export type WatchRequest = Record<string, never> | null;

/**
 * WATCH, first reply: the daemon follows crashes for this client.
 *
 * @example
 * ```ts
 * import type { WatchingEvent } from "./watch.ts";
 * const daemonPid = (e: WatchingEvent) => e.pid;
 * ```
 */
export interface WatchingEvent {
  /** Discriminant. */
  type: "watching";
  /** The daemon's pid. */
  pid: number;
}
/**
 * WATCH: a crash arrived, before its actions.
 *
 * @example
 * ```ts
 * import type { CrashEvent } from "./watch.ts";
 * const said = (e: CrashEvent) => `crash #${e.id}: ${e.execName} (pid ${e.pid}) at ${e.time}`;
 * ```
 */
export type CrashEvent = { type: "crash" } & CrashFacts & {
  /** History id. */
  id: number;
  /** Where it came from: `notify` or `socket`. */
  source: string;
  /** When the daemon received it (ISO 8601). */
  time: string;
};
/**
 * WATCH: a crash's actions have finished.
 *
 * @example
 * ```ts
 * import type { OutcomeEvent } from "./watch.ts";
 * const snapshots = (e: OutcomeEvent) => e.results.flatMap((r) => r.snapshot ?? []);
 * ```
 */
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
/**
 * WATCH: the chained crash handler (`install --chain`) of a crash ended, and was recorded.
 *
 * @example
 * ```ts
 * import type { ChainEvent } from "./watch.ts";
 * const said = (e: ChainEvent) => `${e.chain.program} ${e.chain.outcome} for crash #${e.id}`;
 * ```
 */
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
/**
 * WATCH: a crash's report is stored, after the crash's release (its kept core).
 *
 * @example
 * ```ts
 * import type { ReportEvent } from "./watch.ts";
 * const where = (e: ReportEvent) => e.frame?.function ?? e.reason ?? e.state;
 * ```
 */
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
/**
 * WATCH: sent every 15 s without events, so a client can tell the daemon lives.
 *
 * @example
 * ```ts
 * import type { HeartbeatEvent } from "./watch.ts";
 * const lastHeard = (e: HeartbeatEvent) => new Date(e.time);
 * ```
 */
export interface HeartbeatEvent {
  /** Discriminant. */
  type: "heartbeat";
  /** The daemon's clock (ISO 8601). */
  time: string;
}
/**
 * WATCH: this watcher fell behind and lost its `count` oldest events.
 *
 * @example
 * ```ts
 * import type { DroppedEvent } from "./watch.ts";
 * const said = (e: DroppedEvent) => `missed ${e.count} events: read the history`;
 * ```
 */
export interface DroppedEvent {
  /** Discriminant. */
  type: "dropped";
  /** Events lost. */
  count: number;
}
/**
 * One frame of the WATCH stream, told apart by `type`.
 *
 * @example
 * ```ts
 * import type { WatchEvent } from "./watch.ts";
 * function line(event: WatchEvent): string | undefined {
 *   switch (event.type) {
 *     case "crash":
 *       return `crash of ${event.execName} (pid ${event.pid})`;
 *     case "outcome":
 *       return `${event.fired} fired, ${event.failed} failed`;
 *     default:
 *       return undefined;
 *   }
 * }
 * ```
 */
export type WatchEvent =
  | WatchingEvent
  | CrashEvent
  | OutcomeEvent
  | ChainEvent
  | ReportEvent
  | HeartbeatEvent
  | DroppedEvent;
