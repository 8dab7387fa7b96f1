/**
 * Prometheus metrics of the daemon, for node_exporter's textfile collector.
 *
 * @module
 */
export * from "./exposition.ts";
export * from "./daemon_metrics.ts";
export * from "./textfile_writer.ts";
export * from "./journal_tail.ts";
export * from "./exporter.ts";
