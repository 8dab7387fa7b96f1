import assert from "node:assert/strict";
import {
  type CrashEvents,
  EventsError,
  type EventsFilter,
  LastEventsCollector,
  parseEventLine,
  readLastEvents,
} from "../../lib/report/events.ts";

// Recorded with babeltrace2 from a snapshot of a per-uid session with the vpid and vtid
// contexts, while tests/fixtures/mt_crasher.c (pid 4575, worker 4579) crashed; the vpid
// variant is the same text without the vtid context.
const dir = new URL("../fixtures/report/", import.meta.url);
const VTID = (await Deno.readTextFile(new URL("babeltrace2_vtid.txt", dir))).split("\n");
const VPID = (await Deno.readTextFile(new URL("babeltrace2_vpid.txt", dir))).split("\n");

/** What a {@linkcode LastEventsCollector} keeps of `lines`, as readLastEvents() feeds it. */
function lastEvents(lines: Iterable<string>, filter: EventsFilter): CrashEvents {
  const c = new LastEventsCollector(filter);
  for (const line of lines) c.push(line);
  return c.result();
}

Deno.test("parseEventLine() reads time, name, fields, vtid and vpid", () => {
  const malloc = VTID.find((l) => l.includes("size = 7777"))!;
  assert.deepEqual(parseEventLine(malloc), {
    time: "18:19:43.268117487",
    name: "lttng_ust_libc:malloc",
    fields: "{ cpu_id = 1 }, { vpid = 4575, vtid = 4579 }, { size = 7777, ptr = 0x7FF514000B70 }",
    vtid: 4579,
    vpid: 4575,
  });
  assert.deepEqual(parseEventLine("[1.5] (+?.?????????) p:e: { }"), {
    time: "1.5",
    name: "p:e",
    fields: "{ }",
  });
  assert.equal(parseEventLine(""), undefined);
  assert.equal(parseEventLine("babeltrace2: warning"), undefined);
});

Deno.test("LastEventsCollector keeps the crashing thread's events by vtid", () => {
  const r = lastEvents(VTID, { pid: 4575, tid: 4579, count: 5 });
  assert.equal(r.matchedBy, "vtid");
  assert.deepEqual(r.events.map((e) => [e.name, e.vtid]), [["lttng_ust_libc:malloc", 4579]]);
  assert.match(r.events[0].fields, /size = 7777/);
  const main = lastEvents(VTID, { pid: 4575, tid: 4575, count: 3 });
  assert.equal(main.events.length, 3);
  assert.ok(main.events.every((e) => e.vtid === 4575 && e.name === "lttng_ust_libc:calloc"));
});

Deno.test("LastEventsCollector falls back to the process's events by vpid, then to all", () => {
  const r = lastEvents(VPID, { pid: 4575, tid: 4579, count: 2 });
  assert.equal(r.matchedBy, "vpid");
  assert.deepEqual(r.events.map((e) => e.name), ["lttng_ust_libc:calloc", "lttng_ust_libc:malloc"]);
  assert.deepEqual(lastEvents(VPID, { pid: 1, count: 2 }).events, []);
  const bare = VPID.map((l) => l.replace(/, \{ vpid = \d+ \}/, ""));
  const all = lastEvents(bare, { pid: 4575, tid: 4579, count: 4 });
  assert.equal(all.matchedBy, "none");
  assert.equal(all.events.length, 4);
  assert.throws(() => lastEvents([], { pid: 1, count: -1 }), RangeError);
});

Deno.test("readLastEvents() rejects with EventsError when the trace cannot be read", async () => {
  await assert.rejects(
    readLastEvents("/nonexistent-snapshot", { pid: 1, count: 1 }),
    EventsError,
  );
  await assert.rejects(
    readLastEvents("/", { pid: 1, count: 1, program: "/nonexistent/babeltrace2" }),
    (e) => e instanceof EventsError && /apt-get install babeltrace2/.test(e.message),
  );
});
