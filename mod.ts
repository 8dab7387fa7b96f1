/**
 * lttng-trig: crash-triggered flight recording for LTTng, as a library.
 *
 * What a program needs to work with a running `lttng-trig daemon`:
 * - the RFC "Triggers in lttng-tools" (v0.1) API: {@linkcode setTrigger}
 *   (`lttng_trigger_set()`) and {@linkcode fireTrigger} (`lttng_trigger()`);
 * - the client of the daemon's control socket ({@linkcode ControlClient}: set, list,
 *   remove, history, status, watch) and of its notification socket
 *   ({@linkcode sendNotification});
 * - the wire codec of both sockets (docs/PROTOCOL.md): the frame header, the RFC's
 *   `struct onanycoredump` and its reply, the control envelope, and a bounded frame
 *   reader;
 * - the types of the trigger model and of the control messages.
 *
 * The daemon, the notifier and the CLI are the `lttng-trig` program, not this API.
 *
 * @example Set a trigger on a session and fire it, as the RFC does
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ControlStatus,
 *   decodeControlRequest,
 *   decodeOnAnyCoreDump,
 *   encodeControlReply,
 *   encodeNotifyReply,
 *   fireTrigger,
 *   MAX_CONTROL_REQUEST,
 *   NotifyStatus,
 *   ONANYCOREDUMP_C_SIZE,
 *   readFrame,
 *   setTrigger,
 *   type Trigger,
 *   type TriggerSpec,
 *   TriggerActionType,
 *   TriggerType,
 *   writeAll,
 * } from "./mod.ts";
 *
 * // `lttng-trig daemon` answers on two sockets of its run directory. Here a stand-in
 * // written with the codec takes its place: it stores the trigger it is sent and fires
 * // it on the crash.
 * const runDir = await Deno.makeTempDir();
 * const control = Deno.listen({ transport: "unix", path: `${runDir}/client-lttng-trig` });
 * const notify = Deno.listen({ transport: "unix", path: `${runDir}/notify-lttng-sessiond` });
 * const daemon = (async () => {
 *   let stored: Trigger | undefined;
 *   {
 *     using conn = await control.accept();
 *     const frame = await readFrame(conn, { maxPayload: () => MAX_CONTROL_REQUEST });
 *     const spec = decodeControlRequest(frame!.payload) as TriggerSpec;
 *     stored = { ...spec, name: "trigger-1", owner: 0, createdAt: "", hits: 0, fired: 0 };
 *     const payload = { trigger: stored, warnings: [] };
 *     await writeAll(conn, encodeControlReply(frame!.header.cmd, { status: ControlStatus.OK, error: "", payload }));
 *   }
 *   {
 *     using conn = await notify.accept();
 *     const frame = await readFrame(conn, { maxPayload: () => ONANYCOREDUMP_C_SIZE });
 *     const crash = decodeOnAnyCoreDump(frame!.payload);
 *     const fired = crash.execName === "apache2" && stored !== undefined ? 1 : 0;
 *     await writeAll(conn, encodeNotifyReply({ status: NotifyStatus.OK, fired, failed: 0 }));
 *   }
 * })();
 *
 * const trigger = await setTrigger(
 *   { session: "mysession", runDir },
 *   TriggerType.ONANYCOREDUMP,
 *   TriggerActionType.SNAPSHOT,
 * );
 * assert.equal(trigger.name, "trigger-1");
 * const reply = await fireTrigger(TriggerType.ONANYCOREDUMP, `${runDir}/notify-lttng-sessiond`, {
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * assert.equal(reply.fired, 1);
 *
 * await daemon;
 * control.close();
 * notify.close();
 * await Deno.remove(runDir, { recursive: true });
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

// The wire codec (docs/PROTOCOL.md).
export { decodeHeader, encodeHeaderInto, type Header, HEADER_SIZE } from "./lib/wire/header.ts";
export {
  type ByteReader,
  type ByteWriter,
  type Frame,
  FrameError,
  readFrame,
  type ReadFrameOptions,
  writeAll,
} from "./lib/wire/frame.ts";
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
  readNotifyReply,
} from "./lib/wire/notify.ts";
export {
  ControlCommand,
  type ControlReply,
  ControlStatus,
  decodeControlReply,
  decodeControlRequest,
  encodeControlReply,
  encodeControlRequest,
  MAX_CONTROL_REPLY,
  MAX_CONTROL_REQUEST,
} from "./lib/wire/control.ts";

// The clients of the two sockets, and what they reject with.
export {
  ControlClient,
  controlRequest,
  type RequestOptions,
  sendNotification,
  watchDaemon,
} from "./lib/client/client.ts";
export {
  CommandError,
  ControlRequestError,
  ControlTransportError,
  type ControlTransportReason,
  DaemonUnavailableError,
} from "./lib/core/errors.ts";

// The trigger model, and the messages of the control socket.
export {
  ON_ANY_CORE_DUMP,
  type RatePolicy,
  type SnapshotAction,
  type StopAction,
  type Trigger,
  type TriggerAction,
  type TriggerCondition,
  type TriggerSpec,
} from "./lib/core/trigger.ts";
export type {
  ControlCommandCode,
  ControlMessages,
  ControlReplyPayload,
  ControlRequest,
  CorePatternWatchFacts,
  HistoryReply,
  HistoryRequest,
  ListReply,
  ListRequest,
  RemoveReply,
  RemoveRequest,
  ReplyOf,
  RequestOf,
  SetReply,
  SetRequest,
  StatusReply,
  StatusRequest,
} from "./lib/protocol/control.ts";
export type {
  ChainEvent,
  CrashEvent,
  DroppedEvent,
  HeartbeatEvent,
  OutcomeEvent,
  ReportEvent,
  WatchEvent,
  WatchingEvent,
  WatchRequest,
} from "./lib/protocol/watch.ts";
export type {
  ChainFate,
  CoreFate,
  CrashRecord,
  Frame as BacktraceFrame,
  MissedCrash,
  ReportRecord,
  ReportState,
  SignatureGroup,
  SnapshotRemoved,
  ThreadBacktrace,
  TriggerOutcome,
} from "./lib/protocol/records.ts";
export type { CrashFacts } from "./lib/core/crash_facts.ts";

/**
 * Trigger types (RFC: `enum lttng_trigger_type`).
 *
 * @example
 * ```ts
 * import { TriggerType } from "./mod.ts";
 * TriggerType.ONANYCOREDUMP; // 1, LTTNG_TRIGGER_TYPE_ONANYCOREDUMP
 * ```
 */
export const TriggerType = {
  /** `LTTNG_TRIGGER_TYPE_ONANYCOREDUMP`. */
  ONANYCOREDUMP: 1,
} as const;

/**
 * Trigger actions (RFC: `enum lttng_trigger_action`).
 *
 * @example
 * ```ts
 * import { TriggerActionType } from "./mod.ts";
 * const action = Deno.args.includes("--stop") ? TriggerActionType.STOP : TriggerActionType.SNAPSHOT;
 * ```
 */
export const TriggerActionType = {
  /** `LTTNG_TRIGGER_ACTION_SNAPSHOT`. */
  SNAPSHOT: 1,
  /** `LTTNG_TRIGGER_ACTION_STOP`. */
  STOP: 2,
} as const;

/**
 * The session a trigger is set on (RFC: `struct lttng_handle`).
 *
 * @example
 * ```ts
 * import type { TriggerHandle } from "./mod.ts";
 * const handle: TriggerHandle = { session: "mysession" }; // the caller's daemon
 * const rootDaemon: TriggerHandle = { session: "mysession", runDir: "/var/run/lttng" };
 * ```
 */
export interface TriggerHandle {
  /** Session name. */
  session: string;
  /** The daemon's run directory. @default the caller's (docs/DESIGN.md, "Paths") */
  runDir?: string;
}

/**
 * Options of {@linkcode setTrigger} (the RFC's `opts`).
 *
 * @example
 * ```ts
 * import type { SetTriggerOptions } from "./mod.ts";
 * // Name it, fire on the third crash only, of nginx processes, into a local directory.
 * const options: SetTriggerOptions = {
 *   name: "web-crash",
 *   ratePolicy: { kind: "once-after", count: 3 },
 *   filters: { exec: "nginx*" },
 *   output: { path: "/var/tmp/snapshots" },
 * };
 * ```
 */
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
