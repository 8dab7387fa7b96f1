/**
 * Clients of the daemon's two sockets: control requests (set, list, remove, history,
 * status, watch), typed by lib/protocol/control.ts, and notifications (the RFC's
 * `lttng_trigger()`).
 *
 * A request that never gets the daemon's answer (no daemon, a deadline, a connection
 * closed without a reply) rejects with a {@linkcode ControlTransportError}; a daemon
 * that answers with a failure status, with a {@linkcode ControlRequestError}.
 *
 * @module
 */
import {
  ControlCommand,
  type ControlReply,
  ControlStatus,
  decodeControlReply,
  encodeControlRequest,
  MAX_CONTROL_REPLY,
  REPLY_BIT,
} from "../wire/control.ts";
import type {
  ControlCommandCode,
  HistoryReply,
  HistoryRequest,
  ListReply,
  RemoveReply,
  ReplyOf,
  RequestOf,
  SetReply,
  SetRequest,
  StatusReply,
} from "../protocol/control.ts";
import type { WatchEvent } from "../protocol/watch.ts";
import {
  encodeOnAnyCoreDump,
  type NotifyReply,
  type OnAnyCoreDumpMessage,
  readNotifyReply,
} from "../wire/notify.ts";
import { readFrame, writeAll } from "../wire/frame.ts";
import {
  ControlRequestError,
  ControlTransportError,
  DaemonUnavailableError,
} from "../core/errors.ts";

/**
 * Options of {@linkcode controlRequest} and {@linkcode sendNotification}.
 *
 * @example
 * ```ts
 * import { ControlClient, type RequestOptions } from "./client.ts";
 * const quick: RequestOptions = { timeoutMs: 2_000 };
 * const client = new ControlClient("/var/run/lttng/client-lttng-trig", quick);
 * ```
 */
export interface RequestOptions {
  /** Deadline for the whole exchange, in milliseconds. @default 30000 */
  timeoutMs?: number;
}

/** Connect to the unix socket at `path`; failures are transport errors. */
async function connect(path: string): Promise<Deno.UnixConn> {
  try {
    return await Deno.connect({ transport: "unix", path });
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new ControlTransportError(
        "denied",
        path,
        `permission denied on ${path}: run as the daemon's user (or root, or a member of group tracing)`,
        { cause: err },
      );
    }
    throw new DaemonUnavailableError(path, { cause: err });
  }
}

function closedError(path: string): ControlTransportError {
  return new ControlTransportError("closed", path, "the daemon closed without replying");
}

async function exchange<T>(
  path: string,
  frame: Uint8Array,
  timeoutMs: number,
  readReply: (conn: Deno.UnixConn) => Promise<T>,
): Promise<T> {
  const conn = await connect(path);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, timeoutMs);
  try {
    await writeAll(conn, frame);
    return await readReply(conn);
  } catch (err) {
    if (timedOut) {
      throw new ControlTransportError(
        "timeout",
        path,
        `the daemon on ${path} did not answer within ${timeoutMs} ms`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** The reply frame to command `cmd`, or `null` at a clean end of stream. */
async function readReplyFrame(conn: Deno.UnixConn, cmd: number): Promise<ControlReply | null> {
  const frame = await readFrame(conn, {
    maxPayload: (c) => c === ((cmd | REPLY_BIT) >>> 0) ? MAX_CONTROL_REPLY : -1,
  });
  return frame === null ? null : decodeControlReply(frame.payload);
}

/**
 * The payload of a successful reply, or the daemon's refusal as a
 * {@linkcode ControlRequestError}. The one place where a reply's JSON becomes its type
 * `T`: the daemon encodes it from the same lib/protocol/control.ts types.
 */
function payloadOf<T>(reply: ControlReply): T {
  if (reply.status !== ControlStatus.OK) throw new ControlRequestError(reply.status, reply.error);
  return reply.payload as T;
}

/**
 * Send one control request to the daemon whose control socket is `path`; resolves to the
 * reply's payload, typed for `cmd`. Rejects with {@linkcode ControlRequestError} when
 * the daemon refuses, {@linkcode ControlTransportError} when no answer comes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { controlRequest } from "./client.ts";
 * import { ControlCommand, ControlStatus, encodeControlReply } from "../wire/control.ts";
 * import { readFrame, writeAll } from "../wire/frame.ts";
 *
 * // A stand-in for the daemon, which answers LIST with no trigger.
 * const dir = await Deno.makeTempDir();
 * const listener = Deno.listen({ transport: "unix", path: `${dir}/client-lttng-trig` });
 * const daemon = (async () => {
 *   using conn = await listener.accept();
 *   const frame = await readFrame(conn, { maxPayload: () => 1024 });
 *   const reply = { status: ControlStatus.OK, error: "", payload: { triggers: [] } };
 *   await writeAll(conn, encodeControlReply(frame!.header.cmd, reply));
 * })();
 *
 * const { triggers } = await controlRequest(`${dir}/client-lttng-trig`, ControlCommand.LIST, {});
 * assert.deepEqual(triggers, []);
 * await daemon;
 * listener.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function controlRequest<C extends ControlCommandCode>(
  path: string,
  cmd: C,
  request: RequestOf<C>,
  options: RequestOptions = {},
): Promise<ReplyOf<C>> {
  const reply = await exchange(
    path,
    encodeControlRequest(cmd, request),
    options.timeoutMs ?? 30_000,
    async (conn) => {
      const reply = await readReplyFrame(conn, cmd);
      if (reply === null) throw closedError(path);
      return reply;
    },
  );
  return payloadOf<ReplyOf<C>>(reply);
}

/**
 * Follow the daemon's WATCH stream: `onEvent` gets each event (watching, crash,
 * outcome, heartbeat, dropped) until `signal` aborts (resolves) or the daemon goes away
 * (rejects with {@linkcode ControlTransportError}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { watchDaemon } from "./client.ts";
 * import { DaemonUnavailableError } from "../core/errors.ts";
 *
 * // Print each crash until `stop.abort()`; no daemon runs in this empty run directory.
 * const runDir = await Deno.makeTempDir();
 * const stop = new AbortController();
 * const watching = watchDaemon(`${runDir}/client-lttng-trig`, (event) => {
 *   if (event.type === "crash") console.log(`${event.execName} (pid ${event.pid}) crashed`);
 * }, stop.signal);
 * await assert.rejects(watching, DaemonUnavailableError);
 * await Deno.remove(runDir);
 * ```
 */
export async function watchDaemon(
  path: string,
  onEvent: (event: WatchEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    throw new DaemonUnavailableError(path, { cause: err });
  }
  const onAbort = () => {
    try {
      conn.close();
    } catch { /* closed */ }
  };
  signal.addEventListener("abort", onAbort);
  try {
    await writeAll(conn, encodeControlRequest(ControlCommand.WATCH, {}));
    for (;;) {
      let reply: ControlReply | null;
      try {
        reply = await readReplyFrame(conn, ControlCommand.WATCH);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (reply === null) {
        if (signal.aborted) return;
        throw new ControlTransportError("closed", path, "the daemon stopped");
      }
      // The first reply says "watching"; the events of the stream follow.
      onEvent(payloadOf<WatchEvent>(reply));
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    onAbort();
  }
}

/**
 * A typed client of one daemon's control socket: one method per command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlClient } from "./client.ts";
 * import { ControlTransportError } from "../core/errors.ts";
 *
 * const client = new ControlClient("/var/run/lttng/client-lttng-trig", { timeoutMs: 5_000 });
 * try {
 *   for (const t of (await client.list()).triggers) console.log(t.name, t.session);
 * } catch (err) {
 *   // No daemon here (or not ours to read): the request never got an answer.
 *   assert.ok(err instanceof ControlTransportError);
 * }
 * ```
 */
export class ControlClient {
  /** The daemon's control socket. */
  readonly path: string;
  #options: RequestOptions;

  /** A client of the control socket at `path`. */
  constructor(path: string, options: RequestOptions = {}) {
    this.path = path;
    this.#options = options;
  }

  /** Send `request` as command `cmd`; resolves to the reply's payload. */
  request<C extends ControlCommandCode>(cmd: C, request: RequestOf<C>): Promise<ReplyOf<C>> {
    return controlRequest(this.path, cmd, request, this.#options);
  }

  /** SET: add a trigger. */
  set(spec: SetRequest): Promise<SetReply> {
    return this.request(ControlCommand.SET, spec);
  }

  /** LIST: every trigger. */
  list(): Promise<ListReply> {
    return this.request(ControlCommand.LIST, {});
  }

  /** REMOVE: remove the trigger `name`. */
  remove(name: string): Promise<RemoveReply> {
    return this.request(ControlCommand.REMOVE, { name });
  }

  /** HISTORY: the crashes received, narrowed by `request`. */
  history(request: HistoryRequest = {}): Promise<HistoryReply> {
    return this.request(ControlCommand.HISTORY, request);
  }

  /** STATUS: facts about the daemon. */
  status(): Promise<StatusReply> {
    return this.request(ControlCommand.STATUS, {});
  }

  /** WATCH: follow crashes and outcomes until `signal` aborts (see {@linkcode watchDaemon}). */
  watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    return watchDaemon(this.path, onEvent, signal);
  }
}

/**
 * Send an ONANYCOREDUMP notification to the socket at `path` and wait for the daemon's
 * reply (the RFC's `lttng_trigger()`), which comes once the actions the crash fired have
 * finished. Rejects with {@linkcode ControlTransportError} when no reply comes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sendNotification } from "./client.ts";
 * import { readFrame, writeAll } from "../wire/frame.ts";
 * import { encodeNotifyReply, ONANYCOREDUMP_C_SIZE } from "../wire/notify.ts";
 *
 * // A stand-in for the daemon, for which one trigger fired.
 * const dir = await Deno.makeTempDir();
 * const listener = Deno.listen({ transport: "unix", path: `${dir}/notify-lttng-sessiond` });
 * const daemon = (async () => {
 *   using conn = await listener.accept();
 *   await readFrame(conn, { maxPayload: () => ONANYCOREDUMP_C_SIZE });
 *   await writeAll(conn, encodeNotifyReply({ status: 0, fired: 1, failed: 0 }));
 * })();
 *
 * const reply = await sendNotification(`${dir}/notify-lttng-sessiond`, {
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * assert.deepEqual(reply, { status: 0, fired: 1, failed: 0 });
 * await daemon;
 * listener.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function sendNotification(
  path: string,
  message: OnAnyCoreDumpMessage,
  options: RequestOptions = {},
): Promise<NotifyReply> {
  return exchange(
    path,
    encodeOnAnyCoreDump(message),
    options.timeoutMs ?? 30_000,
    async (conn) => {
      const reply = await readNotifyReply(conn);
      if (reply === null) throw closedError(path);
      return reply;
    },
  );
}
