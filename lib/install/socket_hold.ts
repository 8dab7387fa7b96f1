/**
 * Who holds the coredump socket of `install --socket`, and what that means while the
 * daemon is down: one sentence each, said by `install --socket` and `status`.
 *
 * The kernel connects to the socket on each crash; with nothing listening it drops the
 * dump and nothing records it. lttng-trig.socket (dist/systemd) has systemd hold it, so
 * that a crash waits in its backlog while the daemon restarts.
 *
 * @module
 */

/** The socket unit that holds the coredump socket (dist/systemd). */
export const SOCKET_UNIT = "lttng-trig.socket";

/** `install --socket`'s note on the daemon's downtime. */
export const SOCKET_DOWNTIME_NOTE =
  `Without the socket unit ${SOCKET_UNIT} (dist/systemd, 'systemctl enable --now ${SOCKET_UNIT}'), the daemon holds the coredump socket itself: while it is down or restarting, the kernel drops every crash and nothing records it`;

/**
 * The `status` line for socket mode: `activated` when the daemon says systemd passed it
 * the socket, `undefined` when the daemon does not answer.
 */
export function socketHoldLine(activated: boolean | undefined): string {
  if (activated === true) {
    return `coredump socket: held by ${SOCKET_UNIT}: crashes wait in its backlog while the daemon restarts`;
  }
  return `Warning: coredump socket: ${
    activated === undefined ? "no daemon holds it" : "held by the daemon itself"
  }: while the daemon is down or restarting the kernel drops every crash unrecorded: enable ${SOCKET_UNIT} (dist/systemd)`;
}
