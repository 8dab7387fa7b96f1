/**
 * Every libc call lttng-trig makes, with its FFI signature, written once. Each module binds
 * only the calls it makes ({@linkcode libcSymbols}): Deno spends time on each symbol it
 * binds, and the notifier, run by the kernel on every crash, binds the fewest. Variadic C
 * functions are declared with the arguments lttng-trig always passes.
 *
 * @module
 */

/** The signatures, by libc name. */
export const LIBC = {
  // Sockets.
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  // struct pollfd[], nfds, timeout: on a thread of its own, so that waiting blocks nothing.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // Files.
  // int open(const char *, int, ...): always called with a mode (ignored without O_CREAT).
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  // ssize_t getdents64(int fd, void *dirp, size_t count): glibc 2.30+.
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int fcntl(int fd, int cmd, ...): always called with an int argument.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, ...): always called with a pointer.
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  // Processes and the system.
  // long syscall(long number, ...): always called with four arguments.
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64"], result: "i64" },
  // int prctl(int option, unsigned long, ...): always called with all four.
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  sysconf: { parameters: ["i32"], result: "i64" },
  // errno and its text.
  __errno_location: { parameters: [], result: "pointer" },
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The libc calls named `names`, to bind with `Deno.dlopen`. */
export function libcSymbols<K extends keyof typeof LIBC>(...names: K[]): Pick<typeof LIBC, K> {
  const picked = {} as Pick<typeof LIBC, K>;
  for (const name of names) picked[name] = LIBC[name];
  return picked;
}
