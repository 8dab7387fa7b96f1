import assert from "node:assert/strict";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { conditionMatches, execFilterWarning } from "../../lib/core/trigger_match.ts";
import {
  formatRatePolicy,
  isValidTriggerName,
  ON_ANY_CORE_DUMP,
  parseCondition,
  parseRatePolicy,
  snapshotNameFor,
  type TriggerCondition,
  triggerIdentity,
  type TriggerSpec,
} from "../../lib/core/trigger.ts";
import { validateTriggerSpec } from "../../lib/core/trigger_validate.ts";

const CRASH: CrashFacts = {
  pid: 42,
  uid: 1000,
  gid: 1000,
  execName: "apache2",
  hostname: "host",
};

function spec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    session: "s1",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    ...overrides,
  };
}

/** The one problem reported for `value`. */
function onlyProblem(value: unknown): string {
  const problems = validateTriggerSpec(value);
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems)}`);
  return problems[0];
}

// parseCondition

Deno.test("parseCondition() accepts OnAnyCoreDump in any case", () => {
  for (const what of ["OnAnyCoreDump", "onanycoredump", "ONANYCOREDUMP", "onAnyCoreDump"]) {
    assert.equal(parseCondition(what), ON_ANY_CORE_DUMP);
  }
});

Deno.test("parseCondition() rejects other words", () => {
  for (const what of ["", "OnAnyCoreDumps", " OnAnyCoreDump", "OnCoreDump", "snapshot"]) {
    assert.equal(parseCondition(what), undefined, what);
  }
});

// parseRatePolicy / formatRatePolicy

Deno.test("parseRatePolicy() parses every:N and once-after:N", () => {
  assert.deepEqual(parseRatePolicy("every:1"), { kind: "every", count: 1 });
  assert.deepEqual(parseRatePolicy("every:10"), { kind: "every", count: 10 });
  assert.deepEqual(parseRatePolicy("once-after:3"), { kind: "once-after", count: 3 });
});

Deno.test("parseRatePolicy() rejects N of 0", () => {
  assert.throws(() => parseRatePolicy("every:0"), RangeError);
  assert.throws(() => parseRatePolicy("once-after:0"), RangeError);
});

Deno.test("parseRatePolicy() rejects malformed policies with the expected form", () => {
  for (const text of ["every:", "foo:1", "every:-1", "every", "every:1.5", "every: 1", ""]) {
    assert.throws(() => parseRatePolicy(text), {
      name: "SyntaxError",
      message: /every:N or once-after:N/,
    }, text);
  }
});

Deno.test("parseRatePolicy() rejects an N beyond safe integers", () => {
  assert.throws(() => parseRatePolicy("every:99999999999999999999"), RangeError);
});

Deno.test("formatRatePolicy() writes the policy back, every:1 by default", () => {
  assert.equal(formatRatePolicy(undefined), "every:1");
  assert.equal(formatRatePolicy({ kind: "once-after", count: 5 }), "once-after:5");
});

// validateTriggerSpec

Deno.test("validateTriggerSpec() accepts valid specs", () => {
  const valid = [
    spec(),
    spec({ name: "my-trigger_1.x" }),
    spec({ action: { type: "stop" } }),
    spec({ condition: { type: ON_ANY_CORE_DUMP, exec: "apache*", uids: [0, 4294967294] } }),
    spec({ condition: { type: ON_ANY_CORE_DUMP, signals: [6, 11] } }),
    spec({ action: { type: "snapshot", maxSize: 1024, path: "/tmp/snap" } }),
    spec({ action: { type: "snapshot", url: "net://relay.example.com" } }),
    spec({ action: { type: "snapshot", url: "net6://[::1]:5342:5343/traces" } }),
    spec({ action: { type: "snapshot", url: "file:///var/traces" } }),
    spec({
      action: { type: "snapshot", ctrlUrl: "tcp://10.0.0.1:5342", dataUrl: "tcp://10.0.0.1:5343" },
    }),
    spec({ ratePolicy: { kind: "once-after", count: 2 } }),
  ];
  for (const s of valid) assert.deepEqual(validateTriggerSpec(s), [], JSON.stringify(s));
});

/** Each way a spec can be wrong: the values tried, and the one problem each must give. */
const INVALID: { what: string; specs: unknown[]; problem: RegExp }[] = [
  {
    what: "a value that is not an object",
    specs: [null, undefined, "s", 1, true],
    problem: /^the trigger must be an object$/,
  },
  {
    what: "a bad trigger name",
    specs: ["", "-x", ".x", "a b", "a/b", "x".repeat(129), 5, null].map((name) => spec({ name })),
    problem: /invalid trigger name/,
  },
  {
    what: "a session starting with '-', and other bad sessions",
    specs: ["-s", "--help", "", "a/b", " s", "x".repeat(256), undefined, 3].map((session) =>
      spec({ session })
    ),
    problem: /invalid session name/,
  },
  {
    what: "a condition that is not OnAnyCoreDump",
    specs: [undefined, null, {}, { type: "onanycoredump" }, "OnAnyCoreDump"].map((condition) =>
      spec({ condition })
    ),
    problem: /condition must be OnAnyCoreDump/,
  },
  {
    what: "an empty exec glob",
    specs: [spec({ condition: { type: ON_ANY_CORE_DUMP, exec: "" } })],
    problem: /--exec/,
  },
  {
    what: "a uid list out of range or malformed",
    specs: [[-1], [4294967295], [1.5], [], "0", ["0"], Array(65).fill(0)].map((uids) =>
      spec({ condition: { type: ON_ANY_CORE_DUMP, uids } })
    ),
    problem: /--uid/,
  },
  {
    what: "a signal number outside 1 to 64",
    specs: [[65], [-1], []].map((signals) =>
      spec({ condition: { type: ON_ANY_CORE_DUMP, signals } })
    ),
    problem: /--signal/,
  },
  {
    what: "an unknown action",
    specs: [undefined, null, {}, { type: "record" }].map((action) => spec({ action })),
    problem: /snapshot or stop/,
  },
  {
    what: "a stop action with options",
    specs: [spec({ action: { type: "stop", path: "/tmp" } })],
    problem: /stop action takes no options/,
  },
  {
    what: "mutually exclusive snapshot outputs",
    specs: [
      { type: "snapshot", path: "/tmp/x", url: "net://relay" },
      { type: "snapshot", path: "/tmp/x", ctrlUrl: "tcp://h:1", dataUrl: "tcp://h:2" },
    ].map((action) => spec({ action })),
    problem: /mutually exclusive/,
  },
  {
    what: "a ctrl-url without a data-url, and the reverse",
    specs: [
      { type: "snapshot", ctrlUrl: "tcp://h:1" },
      { type: "snapshot", dataUrl: "tcp://h:2" },
    ].map((action) => spec({ action })),
    problem: /go together/,
  },
  {
    what: "ctrl and data URLs that are not tcp://",
    specs: [spec({ action: { type: "snapshot", ctrlUrl: "net://h", dataUrl: "net://h" } })],
    problem: /tcp:\/\/ or tcp6:\/\//,
  },
  {
    what: "a path that is not absolute",
    specs: ["tmp/x", "./x", "", "-o", 7].map((path) =>
      spec({ action: { type: "snapshot", path } })
    ),
    problem: /--path must be an absolute/,
  },
  {
    what: "a bad URL",
    specs: ["http://h", "net://", "file://relative", "-net://h", "net://h st", "relay:5342", "", 42]
      .map((url) => spec({ action: { type: "snapshot", url } })),
    problem: /--url must be an LTTng URL/,
  },
  {
    what: "a bad max size",
    specs: [0, -1, 1.5, "64M"].map((maxSize) => spec({ action: { type: "snapshot", maxSize } })),
    problem: /--max-size/,
  },
  {
    what: "a bad rate policy",
    specs: [
      null,
      "every:1",
      { kind: "every", count: 0 },
      { kind: "often", count: 1 },
      { kind: "every" },
      { kind: "once-after", count: 1.5 },
    ].map((ratePolicy) => spec({ ratePolicy })),
    problem: /--rate-policy/,
  },
];

Deno.test("validateTriggerSpec() gives exactly one problem, the right one, for each wrong spec", async (t) => {
  for (const { what, specs, problem } of INVALID) {
    await t.step(what, () => {
      for (const s of specs) assert.match(onlyProblem(s), problem, JSON.stringify(s) ?? String(s));
    });
  }
});

Deno.test("isValidTriggerName() takes a name of 128 characters", () => {
  assert.ok(isValidTriggerName("x".repeat(128)));
});

Deno.test("validateTriggerSpec() reports every problem at once", () => {
  const problems = validateTriggerSpec({
    name: "-bad",
    session: "-s",
    condition: { type: "x" },
    action: { type: "stop", x: 1 },
  });
  assert.equal(problems.length, 4, JSON.stringify(problems));
});

// triggerIdentity

Deno.test("triggerIdentity() is equal whatever the order of keys", () => {
  const a: TriggerSpec = {
    session: "s",
    condition: { type: ON_ANY_CORE_DUMP, exec: "a*", uids: [1, 2] },
    action: { type: "snapshot", maxSize: 10, path: "/p" },
    ratePolicy: { kind: "every", count: 2 },
  };
  const b = {
    ratePolicy: { count: 2, kind: "every" },
    action: { path: "/p", maxSize: 10, type: "snapshot" },
    condition: { uids: [1, 2], exec: "a*", type: ON_ANY_CORE_DUMP },
    session: "s",
  } as TriggerSpec;
  assert.equal(triggerIdentity(a), triggerIdentity(b));
});

Deno.test("triggerIdentity() ignores the name and undefined fields", () => {
  const a: TriggerSpec = {
    name: "one",
    session: "s",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "stop" },
  };
  const b: TriggerSpec = {
    name: "two",
    session: "s",
    condition: { type: ON_ANY_CORE_DUMP, exec: undefined },
    action: { type: "stop" },
    ratePolicy: { kind: "every", count: 1 },
  };
  assert.equal(triggerIdentity(a), triggerIdentity(b));
});

Deno.test("triggerIdentity() differs for a different session, condition, action or policy", () => {
  const base: TriggerSpec = {
    session: "s",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
  };
  const id = triggerIdentity(base);
  assert.notEqual(triggerIdentity({ ...base, session: "t" }), id);
  assert.notEqual(
    triggerIdentity({ ...base, condition: { type: ON_ANY_CORE_DUMP, exec: "x" } }),
    id,
  );
  assert.notEqual(triggerIdentity({ ...base, action: { type: "stop" } }), id);
  assert.notEqual(triggerIdentity({ ...base, ratePolicy: { kind: "every", count: 2 } }), id);
});

// conditionMatches

Deno.test("conditionMatches() matches any crash without filters", () => {
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP }, CRASH));
});

Deno.test("conditionMatches() applies the exec glob to the exec name", () => {
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "apache*" }, CRASH));
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "apache2" }, CRASH));
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "apach?2" }, CRASH));
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "nginx*" }, CRASH));
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "apache" }, CRASH));
});

Deno.test("conditionMatches() matches dot-files with a star glob", () => {
  const crash = { ...CRASH, execName: ".hidden" };
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "*" }, crash));
});

Deno.test("conditionMatches() applies a glob with a / to the executable's path only", () => {
  const crash = { ...CRASH, execName: "worker", exePath: "/usr/sbin/apache2" };
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/sbin/*" }, crash));
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "worker" }, crash));
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "apache2" }, crash));
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/bin/*" }, crash));
  // No path known: a path glob matches nothing.
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/sbin/*" }, CRASH));
});

Deno.test("conditionMatches() never matches a path glob against the exec name", () => {
  // In socket mode the exec name is the comm from the core, which may hold "/": a user can
  // name a process "/usr/sbin/nginx" (15 bytes, the comm's limit).
  const forged = { ...CRASH, execName: "/usr/sbin/nginx", exePath: "/home/m/nginx" };
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/sbin/nginx" }, forged));
  assert.ok(
    !conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/sbin/nginx" }, {
      ...forged,
      exePath: undefined,
    }),
  );
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/home/*/nginx" }, forged));
});

Deno.test("conditionMatches() matches an executable replaced while it ran", () => {
  const crash = { ...CRASH, exePath: "/usr/sbin/nginx (deleted)" };
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/sbin/nginx" }, crash));
  assert.ok(
    !conditionMatches({ type: ON_ANY_CORE_DUMP, exec: "/usr/sbin/nginx" }, {
      ...crash,
      exePath: "/usr/sbin/nginx.old",
    }),
  );
});

Deno.test("execFilterWarning() warns of a root trigger on the exec name alone", () => {
  const on = (condition: Partial<TriggerCondition>, owner = 0) =>
    execFilterWarning({
      session: "s",
      condition: { type: ON_ANY_CORE_DUMP, ...condition },
      action: { type: "stop" },
    }, owner);
  const w = on({ exec: "nginx" }) ?? "";
  assert.match(w, /any user can fire this trigger by naming a process "nginx"/);
  assert.match(w, /--exec=\/usr\/sbin\/nginx/);
  assert.match(w, /--uid=0/);
  assert.match(on({ exec: "ng*" }) ?? "", /--exec=\/usr\/sbin\/NAME/);
  assert.equal(on({ exec: "/usr/sbin/nginx" }), undefined);
  assert.equal(on({ exec: "nginx", uids: [33] }), undefined);
  assert.equal(on({ exec: "nginx" }, 1000), undefined); // a user's daemon sees only its crashes
  assert.equal(on({}), undefined);
});

Deno.test("conditionMatches() requires the crash uid to be in the list", () => {
  assert.ok(conditionMatches({ type: ON_ANY_CORE_DUMP, uids: [0, 1000] }, CRASH));
  assert.ok(!conditionMatches({ type: ON_ANY_CORE_DUMP, uids: [0] }, CRASH));
});

Deno.test("conditionMatches() never matches a signal filter when the signal is unknown", () => {
  const c: TriggerCondition = { type: ON_ANY_CORE_DUMP, signals: [11] };
  assert.ok(!conditionMatches(c, CRASH));
  assert.ok(conditionMatches(c, { ...CRASH, signal: 11 }));
  assert.ok(!conditionMatches(c, { ...CRASH, signal: 6 }));
});

Deno.test("conditionMatches() requires every filter to match", () => {
  const c: TriggerCondition = {
    type: ON_ANY_CORE_DUMP,
    exec: "apache*",
    uids: [1000],
    signals: [11],
  };
  assert.ok(conditionMatches(c, { ...CRASH, signal: 11 }));
  assert.ok(!conditionMatches(c, { ...CRASH, signal: 11, uid: 0 }));
  assert.ok(!conditionMatches(c, { ...CRASH, signal: 11, execName: "bash" }));
});

// snapshotNameFor

Deno.test("snapshotNameFor() names the snapshot core-<exec>-<pid>", () => {
  assert.equal(snapshotNameFor(CRASH), "core-apache2-42");
  assert.equal(snapshotNameFor({ execName: "my_app.bin+1-x", pid: 7 }), "core-my_app.bin+1-x-7");
});

Deno.test("snapshotNameFor() replaces characters unsafe in a directory name", () => {
  assert.equal(snapshotNameFor({ execName: "a/b c", pid: 1 }), "core-a_b_c-1");
  assert.equal(snapshotNameFor({ execName: "é$(x)", pid: 1 }), "core-___x_-1");
  assert.equal(snapshotNameFor({ execName: "a\nb", pid: 1 }), "core-a_b-1");
});

Deno.test("snapshotNameFor() replaces leading dots", () => {
  assert.equal(snapshotNameFor({ execName: "..", pid: 3 }), "core-_-3");
  assert.equal(snapshotNameFor({ execName: "...x", pid: 3 }), "core-_x-3");
  assert.equal(snapshotNameFor({ execName: ".x.y", pid: 3 }), "core-_x.y-3");
});

Deno.test("snapshotNameFor() caps long exec names", () => {
  const name = snapshotNameFor({ execName: "x".repeat(255), pid: 4294967295 });
  assert.equal(name, `core-${"x".repeat(64)}-4294967295`);
  assert.ok(name.length <= 80);
});

Deno.test("snapshotNameFor() names an empty exec unknown", () => {
  assert.equal(snapshotNameFor({ execName: "", pid: 9 }), "core-unknown-9");
});
