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

/** A failure to report as `Error: ...` with exit code 1. */
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
 */
export type ControlTransportReason = "unavailable" | "denied" | "timeout" | "closed";

/**
 * A request to the daemon failed on the way: no daemon, a deadline, a connection closed
 * without a reply. Not a daemon's refusal: that is a {@linkcode ControlRequestError}.
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

/** The daemon cannot be reached on its control socket: nothing answers there. */
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

/** The daemon answered a control request with a failure status. */
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
