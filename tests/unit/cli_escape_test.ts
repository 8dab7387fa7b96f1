/**
 * How text output escapes what a terminal would act on (lib/core/unprintable.ts defines
 * it): one table for the escaping functions, then `show`, `history` and `watch` on crash
 * records whose every string is hostile (ESC sequences, C1 controls, DEL, bidirectional
 * overrides). None may reach the terminal as the character it is.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { escaped, jsonLine, printable, quoted } from "../../lib/cli/common.ts";
import { hasUnprintable, UNPRINTABLE } from "../../lib/core/unprintable.ts";
import { historyLines } from "../../lib/cli/history.ts";
import { showLines } from "../../lib/cli/show.ts";
import { watchLine } from "../../lib/cli/watch.ts";
import type { CrashRecord } from "../../lib/protocol/records.ts";

/** A string with a title-setting OSC, a screen clear, an 8-bit CSI, DEL and an RLO. */
function hostile(tag: string): string {
  return `${tag}\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\x85\u202e\n\r\t"\\`;
}

function hostileCrash(): CrashRecord {
  return {
    id: 7,
    pid: 4242,
    uid: 1000,
    gid: 1000,
    execName: hostile("exec"),
    hostname: hostile("host"),
    hostnameNote: hostile("note"),
    coreNote: hostile("core note"),
    exePath: hostile("/tmp/exe"),
    cmdline: [hostile("arg0"), "plain", hostile("arg2")],
    signal: 11,
    time: hostile("2026-11-26T10:00:00.000Z"),
    source: hostile("notify"),
    outcome: hostile("failed"),
    detail: hostile("detail"),
    results: [{
      trigger: hostile("trig"),
      session: hostile("sess"),
      action: hostile("snapshot"),
      outcome: "failed",
      reason: hostile("reason"),
      snapshot: hostile("/tmp/snap"),
      durationMs: 3,
    }],
    core: { kept: false, reason: hostile("core"), bytes: 0 },
  };
}

function assertNoControl(lines: string[]): void {
  for (const line of lines) {
    assert.doesNotMatch(line, UNPRINTABLE, `a control character reaches the terminal: ${line}`);
  }
}

const ESCAPES: [string, (text: string) => string, string, string][] = [
  // what, function, input, output
  ["an OSC and a BEL", printable, "a\x1b]0;pwned\x07b", "a\\x1b]0;pwned\\x07b"],
  ["quotes and backslashes as they are", printable, '"kept" \\ \x1b', '"kept" \\ \\x1b'],
  [
    "quotes as they are",
    escaped,
    'session "ghost" does not exist',
    'session "ghost" does not exist',
  ],
  ["a backslash, so every escape shown is one written", escaped, "a\\x1b", "a\\\\x1b"],
  ["a CSI", escaped, "\x1b[2J", "\\x1b[2J"],
  ["an 8-bit CSI, DEL and an RLO", escaped, "\x9b2J\x7f\u202e", "\\u009b2J\\x7f\\u202e"],
  ["a tab, a newline, a return", escaped, "tab\there\nnl\r", "tab\\there\\nnl\\r"],
  ["invisible marks", escaped, "\u200b\u2066\ufeff\u00ad", "\\u200b\\u2066\\ufeff\\u00ad"],
  ["a lone surrogate", escaped, "x\ud800", "x\\ud800"],
  ["letters, accents, emoji, CJK", escaped, "naïve 😀 日本", "naïve 😀 日本"],
  ["a plain word", quoted, "x y", '"x y"'],
  ["a quote, as a string literal", quoted, 'say "hi"', '"say \\"hi\\""'],
  ["a backslash and an ESC", quoted, "a\\b\x1b", '"a\\\\b\\x1b"'],
  [
    "C0, C1 and RLO as \\uXXXX",
    (t) => jsonLine({ s: t }),
    "\n\x9b\u202e",
    '{"s":"\\n\\u009b\\u202e"}',
  ],
];

Deno.test("printable(), escaped(), quoted() and jsonLine() escape what a terminal acts on, and only that", () => {
  for (const [what, escape, input, output] of ESCAPES) {
    assert.equal(escape(input), output, what);
    assert.ok(!hasUnprintable(output), what);
  }
});

Deno.test("no string makes printable(), escaped(), quoted() or jsonLine() print a control; jsonLine() keeps the value", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      for (const escape of [printable, escaped, quoted, (t: string) => jsonLine([t])]) {
        assert.ok(!hasUnprintable(escape(text)));
      }
      assert.deepEqual(JSON.parse(jsonLine({ text })), { text });
    }),
  );
});

Deno.test("showLines() prints no control character from a hostile crash record", () => {
  const lines = showLines(hostileCrash());
  assertNoControl(lines);
  const text = lines.join("\n");
  assert.match(text, /host\\x1b\]0;owned\\x07\\x1b\[2J\\u009b31m\\x7f\\u0085\\u202e\\n\\r\\t/);
  assert.match(text, /exec: +"exec\\x1b/);
  assert.match(text, /\(\/tmp\/exe\\x1b/);
  assert.match(text, /command: +"arg0\\x1b.*" plain "arg2\\x1b/);
  assert.match(text, /core facts: +partial: core note\\x1b/);
});

Deno.test("historyLines() prints no control character from a hostile crash record", () => {
  const kept = { ...hostileCrash(), core: { kept: true, path: hostile("/core"), bytes: 1 } };
  const lines = [...historyLines([hostileCrash()]), ...historyLines([kept])];
  assertNoControl(lines);
  assert.equal(lines.length, 4);
});

Deno.test("watchLine() prints no control character from a hostile crash or outcome", () => {
  const c = hostileCrash();
  const crash = watchLine({ ...c, type: "crash" });
  const outcome = watchLine({ ...c, type: "outcome", fired: 1, failed: 1 });
  assert.ok(crash !== undefined && outcome !== undefined);
  assertNoControl([crash, outcome]);
  assert.match(crash, /exec "exec\\x1b/);
  assert.match(outcome, /\/tmp\/snap\\x1b/);
});

Deno.test("show and history print a reason's quotes as they are, with no backslash", () => {
  const reason = 'session "ghost" does not exist: create it with lttng create ghost --snapshot';
  const crash = hostileCrash();
  const c = { ...crash, results: [{ ...crash.results[0], snapshot: undefined, reason }] };
  assert.ok(showLines(c).some((l) => l.includes(reason)), showLines(c).join("\n"));
  assert.ok(historyLines([c]).some((l) => l.includes(reason)), historyLines([c]).join("\n"));
});
