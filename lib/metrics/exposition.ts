/**
 * Counters, gauges and histograms, and their rendering in Prometheus's text exposition
 * format (version 0.0.4, what node_exporter's textfile collector reads): `# HELP` and
 * `# TYPE` lines, then one sample per line, `name{label="value"} number`. Pure: nothing
 * here reads a clock or writes a file.
 *
 * @module
 */

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>;

/** A metric name or label name that Prometheus accepts. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A label value as the text format writes it, between double quotes: backslash, double
 * quote and line feed escaped as `\\`, `\"` and `\n`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeLabelValue } from "./exposition.ts";
 * assert.equal(escapeLabelValue('a "b"\\\n'), 'a \\"b\\"\\\\\\n');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** A `# HELP` text: backslash and line feed escaped (quotes are not, in HELP). */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** A sample value: integers as they are, `+Inf`, `-Inf`, `NaN`, other floats in JS form. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(",")}}`;
}

abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new TypeError(`Invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") {
        throw new TypeError(`Invalid label name "${l}" of metric "${name}"`);
      }
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  abstract readonly type: "counter" | "gauge" | "histogram";

  /** The label values of `labels`, in `labelNames` order, checked. */
  protected key(labels: Labels): string[] {
    const given = Object.keys(labels);
    if (
      given.length !== this.labelNames.length || !this.labelNames.every((n) => n in labels)
    ) {
      throw new TypeError(
        `Cannot use labels {${given.join(",")}} on "${this.name}": expected {${
          this.labelNames.join(",")
        }}`,
      );
    }
    return this.labelNames.map((n) => labels[n]);
  }

  /** The sample lines, without HELP and TYPE. */
  abstract samples(): string[];

  /** HELP, TYPE and the samples. */
  render(): string {
    return [
      `# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} ${this.type}`,
      ...this.samples(),
    ].join("\n") + "\n";
  }
}

/** A value per label set, kept in the order the label sets were first seen. */
abstract class ScalarMetric extends Metric {
  #values = new Map<string, { labels: string[]; value: number }>();

  protected cell(labels: Labels): { labels: string[]; value: number } {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    let cell = this.#values.get(k);
    if (cell === undefined) {
      cell = { labels: values, value: 0 };
      this.#values.set(k, cell);
    }
    return cell;
  }

  /** The value for `labels` (0 when never set). */
  get(labels: Labels = {}): number {
    return this.#values.get(JSON.stringify(this.key(labels)))?.value ?? 0;
  }

  samples(): string[] {
    return [...this.#values.values()].map((c) =>
      `${this.name}${labelText(this.labelNames, c.labels)} ${formatValue(c.value)}`
    );
  }
}

/** A counter: only goes up. Its name ends in `_total`, as Prometheus names counters. */
export class Counter extends ScalarMetric {
  readonly type = "counter";

  /** Build a counter. */
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    if (!name.endsWith("_total")) {
      throw new TypeError(`Invalid counter name "${name}": a counter's name ends in _total`);
    }
    super(name, help, labelNames);
  }

  /** Add `by` (at least 0) to the count of `labels`; `by` 0 makes the series exist at 0. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`Cannot add ${by} to counter "${this.name}"`);
    this.cell(labels).value += by;
  }
}

/** A gauge: a value that is set. */
export class Gauge extends ScalarMetric {
  readonly type = "gauge";

  /** Set the value of `labels`. */
  set(labels: Labels, value: number): void {
    this.cell(labels).value = value;
  }
}

/**
 * A histogram without labels: cumulative buckets (`_bucket{le="…"}`, the last one
 * `le="+Inf"`), `_sum` and `_count`.
 */
export class Histogram extends Metric {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  #counts: number[];
  #sum = 0;
  #count = 0;

  /** Build a histogram with these upper bounds (increasing; `+Inf` is added). */
  constructor(name: string, help: string, buckets: readonly number[]) {
    super(name, help, []);
    if (buckets.length === 0 || buckets.some((b, i) => !(b > (buckets[i - 1] ?? -Infinity)))) {
      throw new RangeError(`Invalid buckets of "${name}": expected increasing numbers`);
    }
    this.buckets = buckets.filter((b) => b !== Infinity);
    this.#counts = new Array(this.buckets.length).fill(0);
  }

  /** Count one observation. */
  observe(value: number): void {
    if (Number.isNaN(value)) return;
    // Per bucket, not cumulative: the rendering adds them up.
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) this.#counts[i]++;
    this.#sum += value;
    this.#count++;
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  samples(): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += this.#counts[i];
      lines.push(`${this.name}_bucket{le="${formatValue(b)}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`);
    lines.push(`${this.name}_sum ${formatValue(this.#sum)}`);
    lines.push(`${this.name}_count ${this.#count}`);
    return lines;
  }
}

/**
 * Metrics by name, rendered together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Counter, MetricsRegistry } from "./exposition.ts";
 * const registry = new MetricsRegistry();
 * const crashes = registry.add(new Counter("x_crashes_total", "Crashes.", ["outcome"]));
 * crashes.inc({ outcome: "ok" });
 * assert.equal(
 *   registry.render(),
 *   '# HELP x_crashes_total Crashes.\n# TYPE x_crashes_total counter\nx_crashes_total{outcome="ok"} 1\n',
 * );
 * ```
 */
export class MetricsRegistry {
  #metrics = new Map<string, Metric>();

  /** Add `metric`; its name must be new. Returns it. */
  add<M extends Counter | Gauge | Histogram>(metric: M): M {
    if (this.#metrics.has(metric.name)) {
      throw new TypeError(`Metric "${metric.name}" is registered already`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /** Every metric in the text exposition format, in the order they were added. */
  render(): string {
    return [...this.#metrics.values()].map((m) => m.render()).join("");
  }
}
