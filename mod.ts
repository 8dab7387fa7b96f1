/**
 * lttng-trig: crash-triggered flight recording for LTTng, as a library.
 *
 * The RFC "Triggers in lttng-tools" (v0.1) API in TypeScript: {@linkcode setTrigger}
 * (`lttng_trigger_set()`) and {@linkcode fireTrigger} (`lttng_trigger()`), the wire
 * codec, the daemon, and the store.
 *
 * @example Set a trigger on a session and fire it, as the RFC does
 * ```ts ignore
 * import { fireTrigger, setTrigger, TriggerActionType, TriggerType } from "./mod.ts";
 *
 * await setTrigger({ session: "mysession" }, TriggerType.ONANYCOREDUMP, TriggerActionType.SNAPSHOT);
 * const reply = await fireTrigger(TriggerType.ONANYCOREDUMP, undefined, {
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * console.log(reply.fired);
 * ```
 *
 * @module
 */
import { ControlClient, sendNotification } from "./lib/client/client.ts";
import type { NotifyReply, OnAnyCoreDumpMessage } from "./lib/wire/notify.ts";
import { controlSocketPath, notifySocketPath, processPathEnv } from "./lib/paths.ts";
import {
  ON_ANY_CORE_DUMP as ON_ANY,
  type RatePolicy,
  type Trigger,
  type TriggerAction,
  type TriggerCondition,
} from "./lib/trigger.ts";

export { decodeHeader, encodeHeaderInto, type Header, HEADER_SIZE } from "./lib/wire/header.ts";
export {
  decodeNotifyReply,
  decodeOnAnyCoreDump,
  encodeNotifyReply,
  encodeOnAnyCoreDump,
  encodeOnAnyCoreDumpInto,
  NotifyCommand,
  type NotifyReply,
  NotifyStatus,
  ONANYCOREDUMP_C_SIZE,
  ONANYCOREDUMP_SIZE,
  type OnAnyCoreDumpMessage,
} from "./lib/wire/notify.ts";
export {
  ControlCommand,
  type ControlReply,
  ControlStatus,
  decodeControlReply,
  decodeControlRequest,
  encodeControlReply,
  encodeControlRequest,
} from "./lib/wire/control.ts";
export {
  type ByteReader,
  type ByteWriter,
  type Frame,
  FrameError,
  readFrame,
  type ReadFrameOptions,
} from "./lib/wire/frame.ts";
export { Daemon, type DaemonOptions, DaemonStartError } from "./lib/daemon/daemon.ts";
export {
  CrashHandler,
  type CrashHandlerOptions,
  type CrashListener,
  type CrashOutcome,
  type ReceivedListener,
  type SessionActions,
} from "./lib/daemon/crash_handler.ts";
export { type SessionInfo, type SnapshotResult } from "./lib/lttng/control.ts";
export type { ProcReader } from "./lib/daemon/held_process.ts";
export {
  type ListCrashesOptions,
  StoreError,
  TriggerExistsError,
  TriggerStore,
} from "./lib/store/trigger_store.ts";
export type { Decision } from "./lib/policy.ts";
export type { CoreFate, CrashFacts, CrashRecord, TriggerOutcome } from "./lib/protocol/records.ts";
export type {
  RatePolicy,
  SnapshotAction,
  StopAction,
  Trigger,
  TriggerAction,
  TriggerCondition,
  TriggerSpec,
} from "./lib/trigger.ts";
export {
  CommandError,
  ControlRequestError,
  ControlTransportError,
  type ControlTransportReason,
  DaemonUnavailableError,
  UsageError,
} from "./lib/errors.ts";
export {
  ControlClient,
  controlRequest,
  type RequestOptions,
  sendNotification,
  watchDaemon,
} from "./lib/client/client.ts";
export type {
  ControlCommandCode,
  ControlMessages,
  ControlReplyPayload,
  ControlRequest,
  CrashEvent,
  DroppedEvent,
  HeartbeatEvent,
  HistoryReply,
  HistoryRequest,
  ListReply,
  ListRequest,
  OutcomeEvent,
  RemoveReply,
  RemoveRequest,
  ReplyOf,
  RequestOf,
  SetReply,
  SetRequest,
  StatusReply,
  StatusRequest,
  WatchEvent,
  WatchingEvent,
  WatchRequest,
} from "./lib/protocol/control.ts";
export { ON_ANY_CORE_DUMP } from "./lib/trigger.ts";

/** Trigger types (RFC: `enum lttng_trigger_type`). */
export const TriggerType = {
  /** `LTTNG_TRIGGER_TYPE_ONANYCOREDUMP`. */
  ONANYCOREDUMP: 1,
} as const;

/** Trigger actions (RFC: `enum lttng_trigger_action`). */
export const TriggerActionType = {
  /** `LTTNG_TRIGGER_ACTION_SNAPSHOT`. */
  SNAPSHOT: 1,
  /** `LTTNG_TRIGGER_ACTION_STOP`. */
  STOP: 2,
} as const;

/** The session a trigger is set on (RFC: `struct lttng_handle`). */
export interface TriggerHandle {
  /** Session name. */
  session: string;
  /** The daemon's run directory. @default the caller's (SPEC §2) */
  runDir?: string;
}

/** Options of {@linkcode setTrigger} (the RFC's `opts`). */
export interface SetTriggerOptions {
  /** Trigger name; generated when absent. */
  name?: string;
  /** Rate policy. @default every:1 */
  ratePolicy?: RatePolicy;
  /** Filters narrowing the condition. */
  filters?: Omit<TriggerCondition, "type">;
  /** Snapshot output options (snapshot only). */
  output?: Omit<TriggerAction & { type: "snapshot" }, "type">;
}

/**
 * Set a trigger on `handle.session` (RFC: `lttng_trigger_set()`). Resolves to the stored
 * trigger; rejects with `ControlRequestError` (a taken name, an identical trigger, an
 * invalid option) or `ControlTransportError` (`DaemonUnavailableError` when no daemon
 * runs).
 *
 * @example
 * ```ts ignore
 * import { setTrigger, TriggerActionType, TriggerType } from "./mod.ts";
 * const t = await setTrigger({ session: "web" }, TriggerType.ONANYCOREDUMP,
 *   TriggerActionType.SNAPSHOT, { filters: { exec: "nginx*" } });
 * console.log(t.name);
 * ```
 */
export async function setTrigger(
  handle: TriggerHandle,
  type: typeof TriggerType.ONANYCOREDUMP,
  action: (typeof TriggerActionType)[keyof typeof TriggerActionType],
  options: SetTriggerOptions = {},
): Promise<Trigger> {
  if (type !== TriggerType.ONANYCOREDUMP) throw new RangeError(`Unknown trigger type ${type}`);
  const act: TriggerAction = action === TriggerActionType.STOP
    ? { type: "stop" }
    : { type: "snapshot", ...options.output };
  const path = controlSocketPath(processPathEnv(), handle.runDir);
  const reply = await new ControlClient(path).set({
    ...(options.name === undefined ? {} : { name: options.name }),
    session: handle.session,
    condition: { type: ON_ANY, ...options.filters },
    action: act,
    ...(options.ratePolicy === undefined ? {} : { ratePolicy: options.ratePolicy }),
  });
  return reply.trigger;
}

/**
 * Fire a trigger of `type` (RFC: `lttng_trigger()`): send the crash to the notification
 * socket at `socketPath`, or by default the caller's (`RUN_DIR/notify-lttng-sessiond`),
 * and resolve to the daemon's reply once the fired actions have finished.
 *
 * @example
 * ```ts ignore
 * import { fireTrigger, TriggerType } from "./mod.ts";
 * await fireTrigger(TriggerType.ONANYCOREDUMP, "/home/auser/.lttng/notify-lttng-sessiond", {
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * ```
 */
export function fireTrigger(
  type: typeof TriggerType.ONANYCOREDUMP,
  socketPath: string | undefined,
  message: OnAnyCoreDumpMessage,
): Promise<NotifyReply> {
  if (type !== TriggerType.ONANYCOREDUMP) throw new RangeError(`Unknown trigger type ${type}`);
  const path = socketPath ?? notifySocketPath(processPathEnv());
  return sendNotification(path, message);
}
