/**
 * The daemon's metrics as node_exporter's textfile collector reads them: the counters of
 * {@linkcode DaemonMetrics}, kept in DIR/lttng-trig.prom by a debounced
 * {@linkcode TextfileWriter}, with the notifier's journalled failures counted in.
 *
 * @module
 */
import { type ActionOutcome, DaemonMetrics } from "./daemon_metrics.ts";
import { JournalTail } from "./journal_tail.ts";
import { METRICS_FILE_NAME } from "../core/paths.ts";
import { TextfileWriter } from "./textfile_writer.ts";

/** Options of {@linkcode MetricsExporter.start}. */
export interface MetricsExporterOptions {
  /** The collector's directory (`--metrics-dir`). */
  dir: string;
  /** lttng-trig's version, for `lttng_trig_build_info`. */
  version: string;
  /** The notifier's journal to count failures from, if any. */
  notifierLog?: string;
  /** Least time between two writes of the file, in milliseconds. @default 1000 */
  intervalMs?: number;
  /** Log sink. */
  log?: (line: string) => void;
}

/** The daemon's metrics and their file. */
export class MetricsExporter {
  readonly metrics: DaemonMetrics;
  readonly writer: TextfileWriter;
  #tail?: JournalTail;

  private constructor(options: MetricsExporterOptions) {
    this.metrics = new DaemonMetrics(options.version);
    this.writer = new TextfileWriter({
      dir: options.dir,
      name: METRICS_FILE_NAME,
      render: () => this.metrics.render(),
      ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }

  /** Write the file once (every series at 0), and follow the notifier's journal. */
  static async start(options: MetricsExporterOptions): Promise<MetricsExporter> {
    const e = new MetricsExporter(options);
    await e.writer.flush();
    if (options.notifierLog !== undefined) {
      e.#tail = await JournalTail.start({
        path: options.notifierLog,
        onEntry: (failures) => e.#changed(() => e.metrics.notifierFailed(failures)),
      });
    }
    return e;
  }

  #changed(update: () => void): void {
    update();
    this.writer.changed();
  }

  /** A crash finished with this outcome and these trigger outcomes. */
  crashFinished(outcome: string, results: readonly ActionOutcome[]): void {
    this.#changed(() => this.metrics.crashFinished(outcome, results));
  }

  /** A held crash was released `ms` after it arrived. */
  released(ms: number): void {
    this.#changed(() => this.metrics.released(ms));
  }

  /** A crash report was stored. */
  reportStored(state: string): void {
    this.#changed(() => this.metrics.reportStored(state));
  }

  /** Stop, and remove the file. */
  async close(): Promise<void> {
    this.#tail?.close();
    await this.writer.close();
  }
}
