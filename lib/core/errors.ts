/**
 * Error classes that callers are meant to catch.
 *
 * @module
 */

/** A command line that cannot be understood; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  /** The usage line of the command that failed. */
  readonly usage: string;
  /** Build a usage error. */
  constructor(message: string, usage = "", options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
    this.usage = usage;
  }
}

/**
 * A failure to report as `Error: ...` with exit code 1; the base of the client's errors.
 *
 * @example
 * ```ts
 * import { CommandError, DaemonUnavailableError } from "./errors.ts";
 * const err: unknown = new DaemonUnavailableError("/tmp/none/client-lttng-trig");
 * if (err instanceof CommandError) console.error(`Error: ${err.message}`);
 * ```
 */
export class CommandError extends Error {
  /** Build a command error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
  }
}

/**
 * Why a request never got the daemon's answer:
 * - `unavailable`: nothing accepts connections on the socket (no daemon);
 * - `denied`: the socket refuses this user;
 * - `timeout`: the daemon did not answer within the deadline;
 * - `closed`: the connection ended without a reply (the daemon stopped).
 *
 * @example
 * ```ts
 * import type { ControlTransportReason } from "./errors.ts";
 * function retryable(reason: ControlTransportReason): boolean {
 *   return reason === "timeout" || reason === "closed";
 * }
 * ```
 */
export type ControlTransportReason = "unavailable" | "denied" | "timeout" | "closed";

/**
 * A request to the daemon failed on the way: no daemon, a deadline, a connection closed
 * without a reply. Not a daemon's refusal: that is a {@linkcode ControlRequestError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlClient } from "../client/client.ts";
 * import { ControlTransportError } from "./errors.ts";
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(new ControlClient(`${dir}/client-lttng-trig`).status(), (e) => {
 *   return e instanceof ControlTransportError && e.reason === "unavailable";
 * });
 * await Deno.remove(dir);
 * ```
 */
export class ControlTransportError extends CommandError {
  /** What went wrong. */
  readonly reason: ControlTransportReason;
  /** The socket path. */
  readonly path: string;
  /** Build the error. */
  constructor(
    reason: ControlTransportReason,
    path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ControlTransportError";
    this.reason = reason;
    this.path = path;
  }
}

/**
 * The daemon cannot be reached on its socket: nothing answers there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlClient } from "../client/client.ts";
 * import { DaemonUnavailableError } from "./errors.ts";
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(new ControlClient(`${dir}/client-lttng-trig`).list(), DaemonUnavailableError);
 * await Deno.remove(dir);
 * ```
 */
export class DaemonUnavailableError extends ControlTransportError {
  /** Build the error. */
  constructor(path: string, options?: ErrorOptions) {
    super(
      "unavailable",
      path,
      `no lttng-trig daemon answers on ${path}: start it with 'lttng-trig daemon' (or pass --run-dir)`,
      options,
    );
    this.name = "DaemonUnavailableError";
  }
}

/**
 * The daemon answered a control request with a failure status (a `ControlStatus` code)
 * and a message that says what to do.
 *
 * @example
 * ```ts
 * import { ControlClient } from "../client/client.ts";
 * import { ControlStatus } from "../wire/control.ts";
 * import { ControlRequestError } from "./errors.ts";
 * async function removeIfPresent(client: ControlClient, name: string): Promise<boolean> {
 *   try {
 *     await client.remove(name);
 *     return true;
 *   } catch (err) {
 *     if (err instanceof ControlRequestError && err.status === ControlStatus.NOT_FOUND) return false;
 *     throw err;
 *   }
 * }
 * ```
 */
export class ControlRequestError extends CommandError {
  /** The `ControlStatus` code. */
  readonly status: number;
  /** Build the error. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "ControlRequestError";
    this.status = status;
  }
}
