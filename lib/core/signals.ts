/**
 * Signal names and numbers (Linux, x86-64 and arm64) of the signals that dump core.
 *
 * @module
 */

/**
 * Every standard Linux signal (x86-64 and arm64), for the signal that ended a chained
 * handler: any of them can, not only those that dump core.
 */
const LINUX_SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** The signals that dump core, by name (the names `--signal` takes), from the table above. */
const SIGNALS: Record<string, number> = Object.fromEntries(
  [
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGSEGV",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGSYS",
  ].map((name) => [name, LINUX_SIGNALS[name]]),
);

/** The number of a signal named as Deno names it (`SIGKILL`), or of a decimal `"40"`. */
export function linuxSignalNumber(name: string): number | undefined {
  if (/^\d{1,2}$/.test(name)) return Number(name);
  return LINUX_SIGNALS[name];
}

/** `SIGTERM` for 15, any standard Linux signal; the decimal number for others. */
export function linuxSignalName(n: number): string {
  for (const [name, value] of Object.entries(LINUX_SIGNALS)) if (value === n) return name;
  return String(n);
}

/** Parse `SIGSEGV`, `segv` or `11`; `undefined` when it is none of these. */
export function parseSignal(text: string): number | undefined {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 64 ? n : undefined;
  }
  if (text.toUpperCase() === "SIGIOT" || text.toUpperCase() === "IOT") return 6;
  const upper = text.toUpperCase();
  return SIGNALS[upper.startsWith("SIG") ? upper : `SIG${upper}`];
}

/** `SIGSEGV` for 11; the number for a signal without a name here. */
export function signalName(n: number): string {
  for (const [name, value] of Object.entries(SIGNALS)) if (value === n) return name;
  return String(n);
}

/** The signal names {@linkcode parseSignal} knows, in number order, for a message. */
export function signalNames(): string[] {
  return Object.entries(SIGNALS).sort((a, b) => a[1] - b[1]).map(([name]) => name);
}
