/**
 * The journal: crashes as structured journald entries (native protocol), for fleets that
 * collect journals with systemd-journal-upload and systemd-journal-remote (docs/FLEET.md).
 *
 * @module
 */
export * from "./encoder.ts";
export * from "./crash_entry.ts";
export * from "./sender.ts";
export * from "./crash_journal.ts";
