/**
 * lttng-trig: crash-triggered flight recording for LTTng, as a library.
 *
 * The RFC "Triggers in lttng-tools" (v0.1) API in TypeScript: {@linkcode setTrigger}
 * (`lttng_trigger_set()`) and {@linkcode fireTrigger} (`lttng_trigger()`), the wire
 * codec, the daemon, and the store.
 *
 * @example Set a trigger on a session and fire it, as the RFC does
 * ```ts
 * import assert from "node:assert/strict";
 * import { Daemon, fireTrigger, setTrigger, TriggerActionType, TriggerType } from "./mod.ts";
 *
 * // A daemon in a scratch run directory, whose actions only record what they would do
 * // (by default they run `lttng snapshot record` on the session).
 * const dir = await Deno.makeTempDir();
 * const snapshots: string[] = [];
 * {
 *   await using daemon = await Daemon.start({
 *     runDir: `${dir}/run`,
 *     stateDir: `${dir}/state`,
 *     log: () => {},
 *     actions: {
 *       listSessions: () =>
 *         Promise.resolve([{ name: "mysession", path: "", enabled: true, snapshotMode: true }]),
 *       snapshot: (_session, name) => {
 *         snapshots.push(name);
 *         return Promise.resolve({ location: `${dir}/${name}` });
 *       },
 *       stop: () => Promise.resolve(),
 *     },
 *   });
 *
 *   await setTrigger(
 *     { session: "mysession", runDir: `${dir}/run` },
 *     TriggerType.ONANYCOREDUMP,
 *     TriggerActionType.SNAPSHOT,
 *   );
 *   const reply = await fireTrigger(TriggerType.ONANYCOREDUMP, daemon.notifySocketPath, {
 *     pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 *   });
 *   assert.equal(reply.fired, 1);
 *   assert.match(snapshots[0], /^core-apache2-42/);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { ControlClient, sendNotification } from "./lib/client/client.ts";
import type { NotifyReply, OnAnyCoreDumpMessage } from "./lib/wire/notify.ts";
import { controlSocketPath, notifySocketPath, processPathEnv } from "./lib/core/paths.ts";
import {
  ON_ANY_CORE_DUMP as ON_ANY,
  type RatePolicy,
  type Trigger,
  type TriggerAction,
  type TriggerCondition,
} from "./lib/core/trigger.ts";

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
export { Daemon } from "./lib/daemon/daemon.ts";
export type { DaemonOptions } from "./lib/daemon/daemon_options.ts";
export { DaemonStartError } from "./lib/daemon/run_dirs.ts";
export type { MetricsExporterOptions } from "./lib/metrics/exporter.ts";
export {
  CrashHandler,
  type CrashHandlerOptions,
  type CrashListener,
  type CrashOutcome,
  type ReceivedListener,
} from "./lib/daemon/crash_handler.ts";
export type { SessionActions } from "./lib/daemon/trigger_actions.ts";
export { type SessionInfo, type SnapshotResult } from "./lib/lttng/control.ts";
export type { ProcReader } from "./lib/daemon/held_process.ts";
export type { PinOps } from "./lib/daemon/early_pin.ts";
export {
  type RecordCrashOptions,
  TriggerStore,
  type TriggerStoreOptions,
} from "./lib/store/trigger_store.ts";
export type { CrashRef, ListCrashesOptions } from "./lib/store/crashes.ts";
export type { HistoryLimits } from "./lib/store/history_limits.ts";
export { StoreError } from "./lib/store/schema.ts";
export { TriggerExistsError } from "./lib/store/triggers.ts";
export type { Decision } from "./lib/core/policy.ts";
export type { CrashFacts } from "./lib/core/crash_facts.ts";
export type {
  CoreFate,
  CrashRecord,
  Frame as BacktraceFrame,
  MissedCrash,
  ReportRecord,
  ReportState,
  SnapshotRemoved,
  ThreadBacktrace,
  TriggerOutcome,
} from "./lib/protocol/records.ts";
export {
  type ReportNotice,
  ReportQueue,
  type ReportQueueOptions,
} from "./lib/daemon/report_queue.ts";
export type { ReportJob, ReportMakerOptions } from "./lib/daemon/report_maker.ts";
export type { Decompressor, FsSpace as ReportFsSpace } from "./lib/daemon/report_core.ts";
export type {
  BacktraceOptions,
  CrashReport,
  ToolResult,
  ToolRunner,
} from "./lib/report/backtrace.ts";
export {
  crashSignature,
  SIGNATURE_FRAMES,
  type SignatureInput,
  signatureText,
} from "./lib/report/signature.ts";
export type { SignatureGroup } from "./lib/protocol/records.ts";
export {
  CRASH_MESSAGE_ID,
  crashEntry,
  REPORT_MESSAGE_ID,
  reportEntry,
} from "./lib/journal/crash_entry.ts";
export {
  decodeJournalEntry,
  encodeJournalEntry,
  type JournalField,
} from "./lib/journal/encoder.ts";
export type { RunAs } from "./lib/report/as_user.ts";
export type { ChainFate } from "./lib/protocol/records.ts";
export type { ChainEvent } from "./lib/protocol/control.ts";
export type {
  RatePolicy,
  SnapshotAction,
  StopAction,
  Trigger,
  TriggerAction,
  TriggerCondition,
  TriggerSpec,
} from "./lib/core/trigger.ts";
export {
  CommandError,
  ControlRequestError,
  ControlTransportError,
  type ControlTransportReason,
  DaemonUnavailableError,
  UsageError,
} from "./lib/core/errors.ts";
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
  CorePatternWatchFacts,
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
  ReportEvent,
  RequestOf,
  SetReply,
  SetRequest,
  StatusReply,
  StatusRequest,
  WatchEvent,
  WatchingEvent,
  WatchRequest,
} from "./lib/protocol/control.ts";
export { ON_ANY_CORE_DUMP } from "./lib/core/trigger.ts";

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
  /** The daemon's run directory. @default the caller's (docs/DESIGN.md, "Paths") */
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { DaemonUnavailableError, setTrigger, TriggerActionType, TriggerType } from "./mod.ts";
 *
 * // Snapshot session "web" when an nginx process crashes. No daemon listens in this
 * // empty run directory, so the request is refused (see the module example for one).
 * const runDir = await Deno.makeTempDir();
 * await assert.rejects(
 *   setTrigger({ session: "web", runDir }, TriggerType.ONANYCOREDUMP, TriggerActionType.SNAPSHOT, {
 *     filters: { exec: "nginx*" },
 *   }),
 *   DaemonUnavailableError,
 * );
 * await Deno.remove(runDir);
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { DaemonUnavailableError, fireTrigger, TriggerType } from "./mod.ts";
 *
 * // Where no daemon listens, the crash cannot be delivered (see the module example).
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(
 *   fireTrigger(TriggerType.ONANYCOREDUMP, `${dir}/notify-lttng-sessiond`, {
 *     pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 *   }),
 *   DaemonUnavailableError,
 * );
 * await Deno.remove(dir);
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
export type { RetentionFs } from "./lib/daemon/retention_runner.ts";
export type { SnapshotSpaceLimits } from "./lib/daemon/snapshot_retention.ts";
