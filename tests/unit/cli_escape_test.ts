/**
 * Text output of `show`, `history` and `watch` on crash records whose every string is
 * hostile: ESC sequences, C1 controls (U+009B is a CSI), DEL, bidirectional overrides.
 * None may reach the terminal as the character it is.
 */
import assert from "node:assert/strict";
import { escaped, jsonLine, printable, quoted } from "../../lib/cli/common.ts";
import { historyLines } from "../../lib/cli/history.ts";
import { showLines } from "../../lib/cli/show.ts";
import { watchLine } from "../../lib/cli/watch.ts";
import type { CrashRecord } from "../../lib/protocol/records.ts";

/** What a terminal could act on: C0, DEL, C1, and the invisible reordering marks. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/u;

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
    assert.doesNotMatch(line, CONTROL, `a control character reaches the terminal: ${line}`);
  }
}

Deno.test("escaped() writes every control as an escape and keeps the rest", () => {
  assert.equal(escaped('a"b\\c'), 'a\\"b\\\\c');
  assert.equal(escaped("\x1b[2J"), "\\x1b[2J");
  assert.equal(escaped("\x9b2J\x7f\u202e"), "\\u009b2J\\x7f\\u202e");
  assert.equal(escaped("tab\there\nnl"), "tab\\there\\nnl");
  assert.equal(escaped("naïve 😀 日本"), "naïve 😀 日本");
  assert.equal(quoted("x y"), '"x y"');
  assert.equal(printable('"kept" \x1b'), '"kept" \\x1b');
});

Deno.test("jsonLine() escapes C1 controls and keeps the same JSON value", () => {
  const value = { s: hostile("x"), n: 1, a: ["😀"] };
  const line = jsonLine(value);
  assert.doesNotMatch(line, CONTROL);
  assert.deepEqual(JSON.parse(line), value);
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
