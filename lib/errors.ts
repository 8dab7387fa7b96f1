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

/** The daemon cannot be reached on its control socket. */
export class DaemonUnavailableError extends CommandError {
  /** The socket path tried. */
  readonly path: string;
  /** Build the error. */
  constructor(path: string, options?: ErrorOptions) {
    super(
      `no lttng-trig daemon answers on ${path}: start it with 'lttng-trig daemon' (or pass --run-dir)`,
      options,
    );
    this.name = "DaemonUnavailableError";
    this.path = path;
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
