import assert from "node:assert/strict";
import {
  Counter,
  escapeLabelValue,
  formatValue,
  Gauge,
  Histogram,
  MetricsRegistry,
} from "../../lib/metrics/exposition.ts";
import { DaemonMetrics, notifierFailureReason } from "../../lib/metrics/daemon_metrics.ts";

Deno.test("a counter renders HELP, TYPE and one sample per label set, in first-seen order", () => {
  const r = new MetricsRegistry();
  const c = r.add(new Counter("a_total", "Things.", ["kind", "result"]));
  c.inc({ kind: "x", result: "ok" });
  c.inc({ kind: "y", result: "ok" }, 0);
  c.inc({ kind: "x", result: "ok" }, 2);
  assert.equal(
    r.render(),
    [
      "# HELP a_total Things.",
      "# TYPE a_total counter",
      'a_total{kind="x",result="ok"} 3',
      'a_total{kind="y",result="ok"} 0',
      "",
    ].join("\n"),
  );
});

Deno.test("escapeLabelValue() escapes backslash, double quote and line feed only", () => {
  assert.equal(escapeLabelValue("plain é ü"), "plain é ü");
  assert.equal(escapeLabelValue('say "hi"'), 'say \\"hi\\"');
  assert.equal(escapeLabelValue("C:\\dir"), "C:\\\\dir");
  assert.equal(escapeLabelValue("two\nlines"), "two\\nlines");
  assert.equal(escapeLabelValue("\t{}=,"), "\t{}=,");
});

Deno.test("a label value with quotes and newlines renders on one line", () => {
  const r = new MetricsRegistry();
  r.add(new Gauge("b_info", "Help with \\ and\nnewline.", ["v"])).set({ v: 'x"\ny\\' }, 1);
  assert.equal(
    r.render(),
    '# HELP b_info Help with \\\\ and\\nnewline.\n# TYPE b_info gauge\nb_info{v="x\\"\\ny\\\\"} 1\n',
  );
});

Deno.test("a histogram's buckets are cumulative, end with +Inf, and carry _sum and _count", () => {
  const r = new MetricsRegistry();
  const h = r.add(new Histogram("d_seconds", "Durations.", [0.1, 1, 10]));
  for (const v of [0.05, 0.1, 0.5, 3, 42]) h.observe(v);
  assert.equal(
    r.render(),
    [
      "# HELP d_seconds Durations.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{le="0.1"} 2',
      'd_seconds_bucket{le="1"} 3',
      'd_seconds_bucket{le="10"} 4',
      'd_seconds_bucket{le="+Inf"} 5',
      "d_seconds_sum 45.65",
      "d_seconds_count 5",
      "",
    ].join("\n"),
  );
});

Deno.test("an empty histogram renders every bucket at 0", () => {
  const h = new Histogram("e_seconds", "E.", [1]);
  assert.deepEqual(h.samples(), [
    'e_seconds_bucket{le="1"} 0',
    'e_seconds_bucket{le="+Inf"} 0',
    "e_seconds_sum 0",
    "e_seconds_count 0",
  ]);
});

Deno.test("formatValue() writes Prometheus's infinities and NaN", () => {
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(0.25), "0.25");
  assert.equal(formatValue(7), "7");
});

Deno.test("bad names, labels, buckets and decrements are refused", () => {
  assert.throws(() => new Counter("crashes", "x"), /ends in _total/);
  assert.throws(() => new Counter("9_total", "x"), /Invalid metric name "9_total"/);
  assert.throws(() => new Counter("a_total", "x", ["le"]), /Invalid label name "le"/);
  assert.throws(() => new Counter("a_total", "x", ["__x"]), /Invalid label name "__x"/);
  assert.throws(() => new Histogram("h", "x", [1, 1]), /increasing/);
  assert.throws(() => new Histogram("h", "x", []), /increasing/);
  const c = new Counter("a_total", "x", ["k"]);
  assert.throws(() => c.inc({ k: "v" }, -1), RangeError);
  assert.throws(() => c.inc({ other: "v" }), /expected \{k\}/);
  assert.throws(() => c.inc({}), /expected \{k\}/);
  const r = new MetricsRegistry();
  r.add(new Counter("a_total", "x"));
  assert.throws(() => r.add(new Counter("a_total", "y")), /registered already/);
});

Deno.test("DaemonMetrics counts crashes and actions by type, never by options", () => {
  const m = new DaemonMetrics("1.2.3");
  m.crashFinished("ok", [
    { action: "snapshot path=/tmp/x url=net://h", outcome: "ok", durationMs: 30 },
    { action: "stop", outcome: "failed", durationMs: 2000 },
    { action: "snapshot", outcome: "skipped" },
  ]);
  m.crashFinished("no-trigger", []);
  m.released(12);
  m.reportStored("ready");
  const text = m.render();
  for (
    const line of [
      'lttng_trig_crashes_total{outcome="ok"} 1',
      'lttng_trig_crashes_total{outcome="no-trigger"} 1',
      'lttng_trig_crashes_total{outcome="failed"} 0',
      'lttng_trig_actions_total{action="snapshot",result="ok"} 1',
      'lttng_trig_actions_total{action="snapshot",result="skipped"} 1',
      'lttng_trig_actions_total{action="stop",result="failed"} 1',
      'lttng_trig_action_duration_seconds_bucket{le="0.025"} 0',
      'lttng_trig_action_duration_seconds_bucket{le="0.05"} 1',
      'lttng_trig_action_duration_seconds_bucket{le="2.5"} 2',
      "lttng_trig_action_duration_seconds_count 2",
      "lttng_trig_action_duration_seconds_sum 2.03",
      'lttng_trig_hold_duration_seconds_bucket{le="0.025"} 1',
      "lttng_trig_hold_duration_seconds_count 1",
      'lttng_trig_reports_total{state="ready"} 1',
      'lttng_trig_reports_total{state="failed"} 0',
      'lttng_trig_notifier_failures_total{reason="no-daemon"} 0',
      'lttng_trig_build_info{version="1.2.3"} 1',
    ]
  ) {
    assert.ok(text.split("\n").includes(line), `missing ${line} in:\n${text}`);
  }
  assert.doesNotMatch(text, /path=|net:/);
});

Deno.test("notifierFailureReason() names each kind of line the notifier journals", () => {
  const cases: [string, string][] = [
    ["no root daemon: connection refused (os error 111)", "no-daemon"],
    [
      "root daemon at /var/run/lttng/notify-lttng-sessiond: actions did not finish in time",
      "timeout",
    ],
    [
      "user daemon at /home/a/.lttng/notify-lttng-sessiond: the daemon closed without replying",
      "delivery",
    ],
    ["uid 1000 has 4 crashes held already: sent without waiting", "held-cap"],
    ["chained handler: exited with status 1", "chain"],
    ["cannot tell the daemons: timed out", "chain"],
    ["ignored extra 2 argument(s)", "arguments"],
    ['bad pid "x"', "arguments"],
    ["expected %p %u %g %e %h, got 3 argument(s)", "arguments"],
    ["something new", "other"],
  ];
  for (const [line, reason] of cases) assert.equal(notifierFailureReason(line), reason, line);
});

Deno.test("notifier failures are counted by reason", () => {
  const m = new DaemonMetrics("0");
  m.notifierFailed(["no root daemon: x", 'bad uid ""', "no root daemon: y"]);
  const text = m.render();
  assert.match(text, /^lttng_trig_notifier_failures_total\{reason="no-daemon"\} 2$/m);
  assert.match(text, /^lttng_trig_notifier_failures_total\{reason="arguments"\} 1$/m);
});
