/**
 * The listener sets (lib/core/listeners.ts) that the crash handler, the report queue and
 * the chained handler's runs tell their events through.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Listeners } from "../../lib/core/listeners.ts";

type Op =
  | { op: "listen"; who: number; throws: boolean }
  | { op: "stop"; who: number }
  | { op: "emit"; value: number };

// Run `ops` on a Listeners, returning what each listener heard, in order.
function run(ops: readonly Op[]): string[] {
  const events = new Listeners<number>();
  const heard: string[] = [];
  const stops = new Map<number, () => void>();
  const fns = new Map<number, (n: number) => void>();
  for (const o of ops) {
    if (o.op === "listen") {
      // One function per listener, as a caller keeps its own: listening again adds nothing.
      const fn = fns.get(o.who) ?? ((n: number) => {
        heard.push(`${o.who}:${n}`);
        if (o.throws) throw new Error(`listener ${o.who} fails`);
      });
      fns.set(o.who, fn);
      stops.set(o.who, events.listen(fn));
    } else if (o.op === "stop") {
      stops.get(o.who)?.();
    } else {
      events.emit(o.value);
    }
  }
  return heard;
}

// The same, on the plain model: an ordered list of who listens.
function model(ops: readonly Op[]): string[] {
  const listening: number[] = [];
  const heard: string[] = [];
  for (const o of ops) {
    if (o.op === "listen") {
      if (!listening.includes(o.who)) listening.push(o.who);
    } else if (o.op === "stop") {
      const i = listening.indexOf(o.who);
      if (i >= 0) listening.splice(i, 1);
    } else {
      for (const who of listening) heard.push(`${who}:${o.value}`);
    }
  }
  return heard;
}

const CASES: { name: string; ops: Op[]; heard: string[] }[] = [
  {
    name: "tells every listener, in the order they began to listen",
    ops: [
      { op: "listen", who: 1, throws: false },
      { op: "listen", who: 2, throws: false },
      { op: "emit", value: 7 },
    ],
    heard: ["1:7", "2:7"],
  },
  {
    name: "tells a listener nothing once it stopped",
    ops: [
      { op: "listen", who: 1, throws: false },
      { op: "emit", value: 1 },
      { op: "stop", who: 1 },
      { op: "emit", value: 2 },
    ],
    heard: ["1:1"],
  },
  {
    name: "tells the others when one listener throws",
    ops: [
      { op: "listen", who: 1, throws: true },
      { op: "listen", who: 2, throws: false },
      { op: "emit", value: 3 },
    ],
    heard: ["1:3", "2:3"],
  },
  {
    name: "adds a listener that listens twice once",
    ops: [
      { op: "listen", who: 1, throws: false },
      { op: "listen", who: 1, throws: false },
      { op: "emit", value: 4 },
    ],
    heard: ["1:4"],
  },
  {
    name: "tells nothing of events before a listener began",
    ops: [{ op: "emit", value: 5 }, { op: "listen", who: 1, throws: false }],
    heard: [],
  },
  {
    name: "lets a stopped listener listen again, last in order",
    ops: [
      { op: "listen", who: 1, throws: false },
      { op: "listen", who: 2, throws: false },
      { op: "stop", who: 1 },
      { op: "listen", who: 1, throws: false },
      { op: "emit", value: 6 },
    ],
    heard: ["2:6", "1:6"],
  },
];

for (const c of CASES) {
  Deno.test(`Listeners ${c.name}`, () => {
    assert.deepEqual(run(c.ops), c.heard);
    assert.deepEqual(model(c.ops), c.heard, "the model agrees");
  });
}

Deno.test("Listeners tells what an ordered list of listeners would, for any operations", () => {
  const who = fc.integer({ min: 0, max: 4 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant("listen" as const), who, throws: fc.boolean() }),
    fc.record({ op: fc.constant("stop" as const), who }),
    fc.record({ op: fc.constant("emit" as const), value: fc.integer() }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
    assert.deepEqual(run(ops), model(ops));
  }));
});

Deno.test("Listeners lets a listener stop itself while it is told", () => {
  const events = new Listeners<string>();
  const heard: string[] = [];
  const stop = events.listen((e) => {
    heard.push(`once:${e}`);
    stop();
  });
  events.listen((e) => heard.push(`always:${e}`));
  events.emit("a");
  events.emit("b");
  assert.deepEqual(heard, ["once:a", "always:a", "always:b"]);
  assert.equal(events.size, 1);
});
