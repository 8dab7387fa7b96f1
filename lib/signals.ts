/**
 * Signal names and numbers (Linux, x86-64 and arm64) of the signals that dump core.
 *
 * @module
 */

const SIGNALS: Record<string, number> = {
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGSYS: 31,
};

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
