/**
 * Where the daemon's metrics are counted (lib/metrics/): finished crashes and their
 * actions from the crash handler's listeners, reports from the report queue's, and the
 * hold of each crash by timing the handler's release callback.
 *
 * @module
 */
import { MetricsExporter, type MetricsExporterOptions } from "../metrics/exporter.ts";
import type { CrashHandler } from "./crash_handler.ts";
import type { ReportQueue } from "./report_queue.ts";

/** The daemon's metrics: the exporter, and the crash handler that the sockets use. */
export interface DaemonMetricsHooks {
  /** The handler to give the sockets: the daemon's, with each hold timed. */
  crashes: Pick<CrashHandler, "handle">;
  /** Stop counting and remove the metrics file. */
  close(): Promise<void>;
}

/**
 * Start the exporter (writing its file once) and count what `handler` and `reports` do;
 * without `options`, no metrics and `handler` as it is.
 */
export async function hookMetrics(
  handler: CrashHandler,
  reports: Pick<ReportQueue, "listen">,
  options: MetricsExporterOptions | undefined,
): Promise<DaemonMetricsHooks> {
  if (options === undefined) return { crashes: handler, close: () => Promise.resolve() };
  const exporter = await MetricsExporter.start(options);
  const offCrashes = handler.listen((c) => exporter.crashFinished(c.outcome, c.results));
  const offReports = reports.listen((r) => exporter.reportStored(r.state));
  return {
    crashes: {
      handle(crash, source, onRelease, onRecorded) {
        const arrived = performance.now();
        return handler.handle(crash, source, (release) => {
          exporter.released(performance.now() - arrived);
          onRelease?.(release);
        }, onRecorded);
      },
    },
    async close() {
      offCrashes();
      offReports();
      await exporter.close();
    },
  };
}
