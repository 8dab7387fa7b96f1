import assert from "node:assert/strict";
import { SessionActionQueue } from "../../lib/daemon/action_queue.ts";

/** A job whose completion the test controls, logging its start and end. */
function gatedJob<T>(log: string[], name: string, value: T) {
  const gate = Promise.withResolvers<void>();
  // A gate may be failed before its job starts: that is not an unhandled rejection.
  gate.promise.catch(() => {});
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    open: () => gate.resolve(),
    fail: (err: unknown) => gate.reject(err),
    run: async (): Promise<T> => {
      runs++;
      log.push(`start ${name}`);
      try {
        await gate.promise;
      } finally {
        log.push(`end ${name}`);
      }
      return value;
    },
  };
}

/** Let pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

Deno.test("SessionActionQueue runs the jobs of one session one at a time, in order", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const a = gatedJob(log, "a", 1);
  const b = gatedJob(log, "b", 2);
  const c = gatedJob(log, "c", 3);
  const pa = q.submit("s", "ka", a.run);
  const pb = q.submit("s", "kb", b.run);
  const pc = q.submit("s", "kc", c.run);
  await settle();
  assert.deepEqual(log, ["start a"]);
  assert.equal(q.pending, 3);
  // Completing out of order changes nothing: b does not start before a ends.
  c.open();
  b.open();
  await settle();
  assert.deepEqual(log, ["start a"]);
  a.open();
  assert.deepEqual(await Promise.all([pa, pb, pc]), [1, 2, 3]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.equal(q.pending, 0);
});

Deno.test("SessionActionQueue runs jobs of different sessions concurrently", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const a = gatedJob(log, "a", "A");
  const b = gatedJob(log, "b", "B");
  const pa = q.submit("s1", "k", a.run);
  const pb = q.submit("s2", "k", b.run);
  await settle();
  assert.deepEqual(log, ["start a", "start b"]);
  b.open();
  assert.equal(await pb, "B");
  assert.deepEqual(log, ["start a", "start b", "end b"]);
  a.open();
  assert.equal(await pa, "A");
});

Deno.test("SessionActionQueue joins an identical job that is queued but not started", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const first = gatedJob(log, "first", 0);
  const queued = gatedJob(log, "queued", "snap-1");
  const duplicate = gatedJob(log, "duplicate", "snap-2");
  const p0 = q.submit("s", "other", first.run);
  const p1 = q.submit("s", "same", queued.run);
  const p2 = q.submit("s", "same", duplicate.run);
  assert.equal(q.pending, 2, "the duplicate adds no job");
  first.open();
  queued.open();
  duplicate.open();
  assert.deepEqual(await Promise.all([p0, p1, p2]), [0, "snap-1", "snap-1"]);
  assert.equal(queued.runs, 1);
  assert.equal(duplicate.runs, 0);
});

Deno.test("SessionActionQueue never joins a job that has already started", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const running = gatedJob(log, "running", "old");
  const later = gatedJob(log, "later", "new");
  const p1 = q.submit("s", "same", running.run);
  await settle();
  assert.deepEqual(log, ["start running"]);
  const p2 = q.submit("s", "same", later.run);
  assert.equal(q.pending, 2);
  running.open();
  later.open();
  assert.deepEqual(await Promise.all([p1, p2]), ["old", "new"]);
  assert.equal(running.runs, 1);
  assert.equal(later.runs, 1);
  assert.deepEqual(log, ["start running", "end running", "start later", "end later"]);
});

Deno.test("SessionActionQueue marks the first job of an idle session started at once", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const a = gatedJob(log, "a", 1);
  const b = gatedJob(log, "b", 2);
  const pa = q.submit("s", "same", a.run);
  // Submitted in the same tick: a is already running, so b must not join it.
  const pb = q.submit("s", "same", b.run);
  a.open();
  b.open();
  assert.deepEqual(await Promise.all([pa, pb]), [1, 2]);
  assert.equal(b.runs, 1);
});

Deno.test("SessionActionQueue gives a rejection to every waiter and goes on", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const first = gatedJob(log, "first", 0);
  const failing = gatedJob(log, "failing", 0);
  const joined = gatedJob(log, "joined", 0);
  const after = gatedJob(log, "after", "fine");
  q.submit("s", "x", first.run);
  const p1 = q.submit("s", "same", failing.run);
  const p2 = q.submit("s", "same", joined.run);
  const p3 = q.submit("s", "y", after.run);
  const boom = new Error("lttng snapshot record failed");
  failing.fail(boom);
  first.open();
  after.open();
  await assert.rejects(p1, (err) => err === boom);
  await assert.rejects(p2, (err) => err === boom);
  assert.equal(await p3, "fine");
  assert.equal(joined.runs, 0);
});

Deno.test("SessionActionQueue survives a job that throws synchronously", async () => {
  const q = new SessionActionQueue();
  const p = q.submit("s", "k", () => {
    throw new TypeError("sync");
  });
  await assert.rejects(p, TypeError);
  assert.equal(await q.submit("s", "k", () => Promise.resolve(5)), 5);
  await q.idle();
});

Deno.test("SessionActionQueue.idle() resolves at once when nothing is queued", async () => {
  const q = new SessionActionQueue();
  await q.idle();
  assert.equal(q.pending, 0);
});

Deno.test("SessionActionQueue.idle() resolves only once every session is done", async () => {
  const q = new SessionActionQueue();
  const log: string[] = [];
  const a = gatedJob(log, "a", 1);
  const b = gatedJob(log, "b", 2);
  q.submit("s1", "k", a.run);
  const pb = q.submit("s2", "k", b.run).catch(() => {});
  let idle = false;
  const waiting = q.idle().then(() => idle = true);
  a.open();
  await settle();
  assert.equal(idle, false, "s2 is still running");
  b.fail(new Error("x"));
  await waiting;
  await pb;
  assert.equal(idle, true);
  assert.equal(q.pending, 0);
});

Deno.test("SessionActionQueue accepts new jobs on a session after it drained", async () => {
  const q = new SessionActionQueue();
  assert.equal(await q.submit("s", "k", () => Promise.resolve("one")), "one");
  await q.idle();
  assert.equal(await q.submit("s", "k", () => Promise.resolve("two")), "two");
  await q.idle();
  assert.equal(q.pending, 0);
});
