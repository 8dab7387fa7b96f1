/**
 * Socket activation (sd_listen_fds(3)): a listening socket passed by systemd, or by
 * `systemd-socket-activate`, as fd 3 with `LISTEN_PID` (this process) and `LISTEN_FDS`
 * (how many, from fd 3) in the environment. lttng-trig.socket holds the coredump socket
 * that way, so that a crash waits in its backlog while the daemon restarts instead of
 * being dropped by the kernel.
 *
 * The daemon listens on it through libc (`PeerListener.adopt`, lib/daemon/peer_socket.ts),
 * as on the socket it binds itself, so that each connection still names its crash by the
 * kernel's peer credentials and pidfd.
 *
 * @module
 */

/** The first passed descriptor (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * The descriptor systemd passed for this process, or `undefined`: `LISTEN_PID` must be
 * this pid (the variables are inherited by children, which must not take the socket),
 * `LISTEN_FDS` at least 1; with `LISTEN_FDNAMES`, the one named `coredump` if any.
 */
export function passedSocketFd(
  get: (name: string) => string | undefined,
  pid: number,
): number | undefined {
  if (get("LISTEN_PID") !== String(pid)) return undefined;
  const count = Number(get("LISTEN_FDS"));
  if (!Number.isSafeInteger(count) || count < 1) return undefined;
  const names = get("LISTEN_FDNAMES")?.split(":") ?? [];
  const named = names.indexOf("coredump");
  return LISTEN_FDS_START + (named >= 0 && named < count ? named : 0);
}
