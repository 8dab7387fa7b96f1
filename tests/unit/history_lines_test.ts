import assert from "node:assert/strict";
import type { CrashRecord } from "../../lib/protocol/records.ts";
import { historyLines } from "../../lib/cli/history.ts";

function crashFiring(triggers: string[]): CrashRecord {
  return {
    id: 1,
    pid: 4242,
    uid: 1000,
    gid: 1000,
    execName: "nginx",
    hostname: "h",
    time: "2026-11-26T10:00:00.000Z",
    source: "notify",
    outcome: "ok",
    results: triggers.map((trigger) => ({
      trigger,
      session: "s",
      action: "snapshot",
      outcome: "ok",
    })),
  };
}

/** The FIRED cell of the one crash row. */
function fired(triggers: string[]): string {
  const [header, row] = historyLines([crashFiring(triggers)]);
  const start = header.indexOf("FIRED");
  return row.slice(start, header.indexOf("OUTCOME")).trim();
}

Deno.test("historyLines() names at most two fired triggers and counts the others", () => {
  const cases: [string[], string][] = [
    [[], "-"],
    [["web"], "web:ok"],
    [["web", "db"], "web:ok,db:ok"],
    [["web", "db", "cache"], "web:ok,db:ok +1"],
    [["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10"], "t1:ok,t2:ok +8"],
  ];
  for (const [triggers, expected] of cases) {
    assert.equal(fired(triggers), expected, triggers.join(","));
  }
});
