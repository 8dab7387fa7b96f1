/**
 * The wire codec of lttng-trig: frame header, notification and control messages.
 * Layouts are documented in `docs/PROTOCOL.md`.
 *
 * @module
 */
export * from "./header.ts";
export * from "./cstring.ts";
export * from "./notify.ts";
export * from "./control.ts";
export * from "./frame.ts";
