/**
 * The Linux constants that lttng-trig's libc calls pass, written once: the same on x86-64
 * and arm64 (asm-generic, or both architectures' headers agree), from the kernel's
 * include/uapi headers (socket.h, fcntl.h, poll.h, errno-base.h, errno.h, un.h).
 * `O_NOFOLLOW` is the one that differs, and stays with its one user.
 *
 * @module
 */

/** `AF_UNIX` (socket(7)). */
export const AF_UNIX = 1;
/** `AF_NETLINK` (netlink(7)). */
export const AF_NETLINK = 16;
/** `SOCK_STREAM`. */
export const SOCK_STREAM = 1;
/** `SOCK_DGRAM`. */
export const SOCK_DGRAM = 2;
/** `SOCK_NONBLOCK` (= `O_NONBLOCK`). */
export const SOCK_NONBLOCK = 0o4000;
/** `SOCK_CLOEXEC` (= `O_CLOEXEC`). */
export const SOCK_CLOEXEC = 0o2000000;
/** `O_CLOEXEC`. */
export const O_CLOEXEC = 0o2000000;
/** `O_NONBLOCK`. */
export const O_NONBLOCK = 0o4000;
/** `SOL_SOCKET`. */
export const SOL_SOCKET = 1;
/** `SO_PEERCRED`: the peer's `struct ucred`. */
export const SO_PEERCRED = 17;
/** `SO_PEERPIDFD` (Linux 6.5): a pidfd of the peer. */
export const SO_PEERPIDFD = 77;
/** `MSG_DONTWAIT`. */
export const MSG_DONTWAIT = 0x40;
/** `MSG_NOSIGNAL`: no SIGPIPE on a closed peer. */
export const MSG_NOSIGNAL = 0x4000;
/** `POLLIN`. */
export const POLLIN = 0x1;
/** `POLLOUT`. */
export const POLLOUT = 0x4;
/** `SHUT_RDWR`. */
export const SHUT_RDWR = 2;
/** `F_SETFD`. */
export const F_SETFD = 2;
/** `F_GETFL`. */
export const F_GETFL = 3;
/** `F_SETFL`. */
export const F_SETFL = 4;
/** `FD_CLOEXEC`. */
export const FD_CLOEXEC = 1;
/** `EINTR`. */
export const EINTR = 4;
/** `EAGAIN` (= `EWOULDBLOCK`). */
export const EAGAIN = 11;
/** `ENOBUFS`. */
export const ENOBUFS = 105;
/** `sizeof(struct sockaddr_un)`: 2 bytes of family, 108 of path. */
export const SOCKADDR_UN_SIZE = 110;
