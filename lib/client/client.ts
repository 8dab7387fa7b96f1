/**
 * Clients of the daemon's two sockets: control requests (set, list, remove, history,
 * status) and notifications (the RFC's `lttng_trigger()`).
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
import {
  encodeOnAnyCoreDump,
  type NotifyReply,
  type OnAnyCoreDumpMessage,
  readNotifyReply,
} from "../wire/notify.ts";
import { readFrame, writeAll } from "../wire/frame.ts";
import { ControlRequestError, DaemonUnavailableError } from "../errors.ts";

/** Options of {@linkcode controlRequest} and {@linkcode sendNotification}. */
export interface RequestOptions {
  /** Deadline for the whole exchange, in milliseconds. @default 30000 */
  timeoutMs?: number;
}

async function exchange<T>(
  path: string,
  frame: Uint8Array,
  timeoutMs: number,
  readReply: (conn: Deno.UnixConn) => Promise<T>,
): Promise<T> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new ControlRequestError(
        ControlStatus.ERROR,
        `permission denied on ${path}: run as the daemon's user (or root, or a member of group tracing)`,
      );
    }
    throw new DaemonUnavailableError(path, { cause: err });
  }
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
      throw new ControlRequestError(
        ControlStatus.ERROR,
        `the daemon on ${path} did not answer within ${timeoutMs} ms`,
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

/**
 * Send one control request to the daemon whose control socket is `path`; resolves to the
 * reply's payload, or throws {@linkcode ControlRequestError} with the daemon's message.
 */
export async function controlRequest(
  path: string,
  cmd: number,
  request: unknown,
  options: RequestOptions = {},
): Promise<unknown> {
  const reply = await exchange<ControlReply>(
    path,
    encodeControlRequest(cmd, request),
    options.timeoutMs ?? 30_000,
    async (conn) => {
      const frame = await readFrame(conn, {
        maxPayload: (c) => c === ((cmd | REPLY_BIT) >>> 0) ? MAX_CONTROL_REPLY : -1,
      });
      if (frame === null) {
        throw new ControlRequestError(ControlStatus.ERROR, "the daemon closed without replying");
      }
      return decodeControlReply(frame.payload);
    },
  );
  if (reply.status !== ControlStatus.OK) throw new ControlRequestError(reply.status, reply.error);
  return reply.payload;
}

/**
 * Send an ONANYCOREDUMP notification to the socket at `path` and wait for the daemon's
 * reply (the RFC's `lttng_trigger()`).
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
      if (reply === null) {
        throw new ControlRequestError(ControlStatus.ERROR, "the daemon closed without replying");
      }
      return reply;
    },
  );
}

/**
 * Follow the daemon's WATCH stream: `onEvent` gets each event (crash, outcome,
 * heartbeat, dropped) until `signal` aborts (resolves) or the daemon goes away
 * (rejects with {@linkcode ControlRequestError}).
 */
export async function watchDaemon(
  path: string,
  onEvent: (event: Record<string, unknown>) => void,
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
      let frame;
      try {
        frame = await readFrame(conn, {
          maxPayload: (c) =>
            c === ((ControlCommand.WATCH | REPLY_BIT) >>> 0) ? MAX_CONTROL_REPLY : -1,
        });
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (frame === null) {
        if (signal.aborted) return;
        throw new ControlRequestError(ControlStatus.ERROR, "the daemon stopped");
      }
      const reply = decodeControlReply(frame.payload);
      if (reply.status !== ControlStatus.OK) {
        throw new ControlRequestError(reply.status, reply.error);
      }
      onEvent(reply.payload as Record<string, unknown>);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    onAbort();
  }
}
