/**
 * The crash report: where the process died (the backtrace of every thread, from its
 * kept core) beside what it did (the crashing thread's last events, from its snapshot).
 *
 * @module
 */
export * from "./backtrace.ts";
export * from "./events.ts";
