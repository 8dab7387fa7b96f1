import assert from "node:assert/strict";
import { signatureLines } from "../../lib/cli/history.ts";
import { watchLine } from "../../lib/cli/watch.ts";
import { showLines } from "../../lib/cli/show.ts";
import type { CrashRecord } from "../../lib/protocol/records.ts";

const SIG = "4a1d76267257ee01104c3bd7fa81709d";

Deno.test("signatureLines() prints one line per signature, crash strings escaped", () => {
  const lines = signatureLines([
    {
      signature: SIG,
      count: 212,
      first: "2026-12-04T03:00:01.000Z",
      last: "2026-12-04T03:14:59.000Z",
      example: 4311,
      execName: "evil\u001b[2J",
      function: "parse\u0007",
    },
    {
      signature: "9c0b00000000000000000000000000ff",
      count: 1,
      first: "2026-12-04T03:05:12.000Z",
      last: "2026-12-04T03:05:12.000Z",
      example: 4102,
      execName: "myapp",
    },
  ]);
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^COUNT +FIRST +LAST +EXAMPLE +EXEC +FUNCTION +SIGNATURE$/);
  assert.match(lines[1], new RegExp(`^212 .* 4311 .*evil\\\\x1b\\[2J .*parse\\\\x07 +${SIG}$`));
  assert.match(lines[2], /^1 .* 4102 +myapp +- +9c0b0+ff$/);
  for (const l of lines) assert.ok(![...l].some((ch) => ch.charCodeAt(0) < 0x20), l);
});

Deno.test("watchLine() gives the signature on the outcome and the report lines", () => {
  const outcome = watchLine({
    type: "outcome",
    id: 1,
    pid: 42,
    uid: 0,
    gid: 0,
    execName: "a",
    hostname: "h",
    fired: 1,
    failed: 0,
    results: [],
    outcome: "ok",
    source: "notify",
    signature: SIG,
  });
  assert.match(outcome ?? "", new RegExp(` outcome pid 42 ok signature ${SIG}$`));
  const report = watchLine({
    type: "report",
    id: 1,
    pid: 42,
    state: "ready",
    frame: { pc: "0x1", function: "crash_in_worker", module: "mt", offset: "0x11ad" },
    signature: SIG,
  });
  assert.match(
    report ?? "",
    new RegExp(` report  pid 42 ready in crash_in_worker \\(mt\\+0x11ad\\) signature ${SIG}$`),
  );
});

Deno.test("showLines() prints the signature, or that it waits for the report", () => {
  const c: CrashRecord = {
    id: 3,
    time: "2026-12-04T03:00:00.000Z",
    pid: 42,
    uid: 0,
    gid: 0,
    execName: "a",
    hostname: "h",
    source: "notify",
    outcome: "ok",
    results: [],
    signature: SIG,
  };
  assert.ok(showLines(c).includes(`  signature:   ${SIG}`), showLines(c).join("\n"));
  const { signature: _, ...pending } = c;
  assert.ok(
    showLines({ ...pending, report: { state: "pending" } }).includes(
      "  signature:   pending (the report is being made)",
    ),
  );
});
