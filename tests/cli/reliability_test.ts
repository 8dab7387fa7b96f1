/**
 * Reliability of a real daemon (bin/lttng-trig, in the test's own directories): hostile
 * bytes on every socket, a barrage of hostile frames and idle connections while a real
 * crash must still be acted on within 1 s and memory stays bounded, the connection
 * bound, rate-limit counters across kill -9, and a state directory on a full filesystem.
 *
 * Fakes: the barrage, durability and full-disk tests put a fake `lttng` first on the
 * daemon's PATH (tests/fixtures/rel_fake_lttng.ts): a shell script that records its
 * arguments and exits 0, so that "the action ran" is counted exactly, and the barrage
 * measures the daemon rather than whatever load the machine's session daemon is under.
 * Everything else is real.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { controlRequest } from "../../lib/client/client.ts";
import { ControlCommand } from "../../lib/wire/control.ts";
import { fakeLttng, startDaemonOnPath } from "../fixtures/rel_fake_lttng.ts";
import {
  connect,
  exchange,
  frame,
  memoryOf,
  mib,
  onAnyCoreDump,
  REPLY_BIT,
  replyFrames,
  replyStatus,
  socketCount,
} from "../fixtures/rel_wire.ts";
import { waitFor } from "../fixtures/wait.ts";
import { commandOutput } from "../fixtures/process.ts";
import {
  addTrigger,
  assertExit,
  cli,
  client,
  daemon,
  listTriggers,
  makeDirs,
  notifyArgs,
  show,
  type TestDirs,
  uniqueSession,
} from "./_helpers.ts";

/** The daemon's deadline for a whole frame (not configurable from the CLI). */
const FRAME_DEADLINE_MS = 5000;
/** Scheduling slack on top of a deadline, for a loaded machine. */
const SLACK_MS = 2500;
/** The daemon's default connection bound, per socket. */
const MAX_CONNECTIONS = 256;
const MiB = 1024 * 1024;

type SocketName = "notify" | "control" | "coredump";

function socketPaths(dirs: TestDirs): Record<SocketName, string> {
  return {
    notify: `${dirs.run}/notify-lttng-sessiond`,
    control: `${dirs.run}/client-lttng-trig`,
    coredump: `${dirs.run}/coredump-lttng-trig`,
  };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** The daemon answers a control request on a new connection, within `timeoutMs`. */
async function answers(dirs: TestDirs, timeoutMs = 3000): Promise<void> {
  await controlRequest(socketPaths(dirs).control, ControlCommand.LIST, {}, { timeoutMs });
}

interface CrashEntry {
  pid: number;
  execName: string;
  outcome: string;
  detail?: string;
  results: { trigger: string; outcome: string; reason?: string; snapshot?: string }[];
}

async function history(dirs: TestDirs, request: Record<string, unknown> = {}) {
  const reply = await controlRequest(
    socketPaths(dirs).control,
    ControlCommand.HISTORY,
    { limit: 10_000, ...request },
    { timeoutMs: 3000 },
  ) as { crashes: CrashEntry[] };
  return reply.crashes;
}

// --- 1. Hostile input -------------------------------------------------------------------

/** One hostile client: bytes on one socket, then maybe end of stream. */
interface Hostile {
  socket: SocketName;
  bytes: Uint8Array;
  halfClose: boolean;
}

/** A whole WATCH request: the daemon streams to it instead of closing (that is its job). */
function isWatch(h: Hostile): boolean {
  if (h.socket !== "control" || h.bytes.byteLength < 8) return false;
  const view = new DataView(h.bytes.buffer, h.bytes.byteOffset);
  const size = view.getUint32(4, true);
  return view.getUint32(0, true) === ControlCommand.WATCH && size <= 64 * 1024 &&
    h.bytes.byteLength - 8 >= size;
}

const hostileArb: fc.Arbitrary<Hostile> = fc.record({
  socket: fc.constantFrom<SocketName>("notify", "control", "coredump"),
  bytes: fc.oneof(
    fc.uint8Array({ maxLength: 1200 }),
    // Shaped like a frame: a known or any command, any size, any payload (often cut short).
    fc.record({
      cmd: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.nat({ max: 0xffff_ffff })),
      size: fc.oneof(
        fc.nat({ max: 1200 }),
        fc.constantFrom(522, 524, 64 * 1024, 64 * 1024 + 1, 0x8000_0000, 0xffff_ffff),
      ),
      payload: fc.uint8Array({ maxLength: 1200 }),
    }).map(({ cmd, size, payload }) => frame(cmd, size, payload)),
  ),
  halfClose: fc.boolean(),
});

/** Check what the daemon did with one hostile client; returns a problem, or undefined. */
async function probe(dirs: TestDirs, h: Hostile): Promise<string | undefined> {
  const path = socketPaths(dirs)[h.socket];
  if (isWatch(h)) {
    const ex = await exchange(path, h.bytes, {
      halfClose: h.halfClose,
      untilFrame: true,
      timeoutMs: FRAME_DEADLINE_MS,
    });
    const [first] = replyFrames(ex.bytes.subarray(0, ex.bytes.byteLength));
    return first?.cmd === ((ControlCommand.WATCH | REPLY_BIT) >>> 0) && replyStatus(first) === 0
      ? undefined
      : "a WATCH request got no WATCH reply";
  }
  // Cut short and left open, a frame may be waited for until the deadline: no longer.
  const bound = h.halfClose ? SLACK_MS : FRAME_DEADLINE_MS + SLACK_MS;
  const ex = await exchange(path, h.bytes, { halfClose: h.halfClose, timeoutMs: bound + 5000 });
  if (!ex.closed) return `not closed within ${bound + 5000} ms`;
  if (ex.elapsedMs > bound) return `closed after ${Math.round(ex.elapsedMs)} ms (bound ${bound})`;
  let frames;
  try {
    frames = replyFrames(ex.bytes);
  } catch (err) {
    return `a garbled reply: ${(err as Error).message}`;
  }
  if (h.socket === "coredump" && frames.length > 0) return "the coredump socket replied";
  for (const f of frames) {
    if ((f.cmd & REPLY_BIT) === 0) return `a reply without the reply bit: cmd ${f.cmd}`;
    if (f.payload.byteLength < 4) return `a reply of ${f.payload.byteLength} bytes`;
  }
  return undefined;
}

Deno.test("any bytes on the notify, control or coredump socket get an error reply or a close within the frame deadline, and the daemon keeps serving", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  assert.ok(
    await exists(socketPaths(dirs).coredump),
    "a root daemon listens on its coredump socket",
  );
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(hostileArb, { minLength: 16, maxLength: 48 }), async (batch) => {
      // A batch at once: the daemon must handle them side by side.
      const problems = await Promise.all(batch.map((h) => probe(dirs, h)));
      cases += batch.length;
      problems.forEach((p, i) => {
        if (p !== undefined) {
          const h = batch[i];
          throw new Error(
            `${h.socket}, ${h.bytes.byteLength} bytes${
              h.halfClose ? ", then end of stream" : ""
            }: ${p}`,
          );
        }
      });
      assert.equal(d.status, undefined, `the daemon exited:\n${d.log}`);
      await answers(dirs);
    }),
    { numRuns: 6, endOnFailure: true },
  );
  console.log(`hostile bytes: ${cases} clients, the daemon answered or closed every one`);
  assert.equal(d.status, undefined, d.log);
  // Nothing hostile became a trigger.
  assert.deepEqual(await listTriggers(dirs), []);
});

Deno.test("connections are bounded: beyond 256 per socket, the oldest idle ones are dropped first", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const { control } = socketPaths(dirs);
  const before = await socketCount(d.pid);
  const started = performance.now();
  const conns: Deno.UnixConn[] = [];
  const dropped = new Set<number>();
  const reads: Promise<unknown>[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      const c = await connect(control);
      conns.push(c);
      // End of stream (or a reset) is the daemon dropping it; data would be a bug here.
      reads.push(
        c.read(new Uint8Array(1)).then(
          (n) => n === null ? dropped.add(i) : assert.fail(`connection ${i} got data`),
          () => dropped.add(i),
        ),
      );
    }
    // One more client, with a real request: it is served, and takes the place of the
    // oldest idle connection still held (the 45th).
    await answers(dirs);
    await waitFor(() => dropped.size >= 300 + 1 - MAX_CONNECTIONS, {
      timeoutMs: 3000,
      what: `${300 + 1 - MAX_CONNECTIONS} idle connections to be dropped (${dropped.size} so far)`,
    });
    const held = (await socketCount(d.pid)) - before;
    const elapsed = performance.now() - started;
    // All of this must happen before the frame deadline, which would drop them all.
    assert.ok(elapsed < FRAME_DEADLINE_MS - 500, `too slow to tell (${Math.round(elapsed)} ms)`);
    const expected = Array.from({ length: 300 + 1 - MAX_CONNECTIONS }, (_, i) => i);
    assert.deepEqual([...dropped].sort((a, b) => a - b), expected, "the oldest were dropped");
    assert.ok(held <= MAX_CONNECTIONS, `the daemon holds ${held} connections on one socket`);
    console.log(
      `connection bound: 301 clients, dropped the ${dropped.size} oldest, holds ${held}`,
    );
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.allSettled(reads);
  }
  assert.equal(d.status, undefined, d.log);
  await answers(dirs);
});

/** A deterministic pseudo-random generator (xorshift32), for reproducible garbage. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** The `i`-th hostile frame of the barrage: every one is invalid. */
function barrageFrame(i: number, rand: () => number): Hostile {
  const enc = new TextEncoder();
  const json = (s: string) => enc.encode(s);
  const garbage = (n: number) => Uint8Array.from({ length: n }, () => rand() & 0xff);
  switch (i % 16) {
    case 0:
      return { socket: "notify", bytes: frame(0x100 + (rand() & 0xffff), 0), halfClose: true };
    case 1:
      return { socket: "notify", bytes: frame(1, 0xffff_ffff, garbage(1024)), halfClose: false };
    case 2:
      return { socket: "notify", bytes: frame(1, 100, garbage(100)), halfClose: false };
    case 3:
      return {
        socket: "notify",
        bytes: frame(1, 522, new Uint8Array(522).fill(0x41)),
        halfClose: false,
      };
    case 4:
      return { socket: "notify", bytes: frame(1, 522, garbage(200)), halfClose: true };
    case 5:
      return { socket: "notify", bytes: frame(3, 64, garbage(64)), halfClose: false };
    case 6:
      return { socket: "notify", bytes: frame(2, 100, garbage(100)), halfClose: true };
    case 7:
      return { socket: "control", bytes: frame(1, 3, json("{{{")), halfClose: false };
    case 8:
      return { socket: "control", bytes: frame(99, 16, garbage(16)), halfClose: false };
    case 9:
      return { socket: "control", bytes: frame(4, 0xffff_ffff, garbage(512)), halfClose: false };
    case 10: {
      const spec = json(JSON.stringify({ session: "", condition: { type: "nope" } }));
      // Answered, and the connection kept for the next request: the client leaves.
      return { socket: "control", bytes: frame(1, spec.byteLength, spec), halfClose: true };
    }
    case 11:
      return { socket: "control", bytes: new Uint8Array([2, 0, 0]), halfClose: true };
    case 12:
      return { socket: "coredump", bytes: json("this is not a core\n"), halfClose: true };
    case 13: {
      const limit = json(JSON.stringify({ limit: -5 }));
      return { socket: "control", bytes: frame(4, limit.byteLength, limit), halfClose: true };
    }
    case 14:
      // Garbage behind a command no socket knows.
      return {
        socket: (["notify", "control"] as const)[rand() & 1],
        bytes: frame(0x1000 + (rand() & 0xffff), rand() & 0x3ff, garbage(rand() & 0x3ff)),
        halfClose: (rand() & 1) === 0,
      };
    default:
      // Slow: a frame cut short and left open, which only the frame deadline ends.
      return i % 64 === 15
        ? { socket: "notify", bytes: frame(1, 522, garbage(10)), halfClose: false }
        : { socket: "control", bytes: frame(0, 0), halfClose: true };
  }
}

Deno.test("under 3000 hostile frames and 300 idle connections, a valid notification fires its trigger within 1 s, and RSS stays under 256 MiB", async () => {
  await using dirs = await makeDirs();
  // What is measured is the daemon under attack, not the session daemon: the fake lttng
  // takes its snapshot at once.
  await using fake = await fakeLttng("ok");
  await using d = await startDaemonOnPath(dirs, fake.path);
  const session = uniqueSession("barrage");
  const trigger = await addTrigger(dirs, [
    "-n",
    "valid",
    "--exec=rel-valid-*",
    "-s",
    session,
    "OnAnyCoreDump",
    "snapshot",
  ]);
  const paths = socketPaths(dirs);
  const idle: Deno.UnixConn[] = [];
  const figures: string[] = [];
  let done = 0;
  let replies = 0;
  let closes = 0;
  let peakRss = 0;
  const problems: string[] = [];
  try {
    const before = await memoryOf(d.pid);
    for (let i = 0; i < 300; i++) idle.push(await connect(paths.notify));

    const rand = xorshift(0x5eed);
    const hostile = Array.from({ length: 3000 }, (_, i) => barrageFrame(i, rand));
    let next = 0;
    const worker = async () => {
      while (next < hostile.length) {
        const h = hostile[next++];
        const bound = h.halfClose ? SLACK_MS + 2000 : FRAME_DEADLINE_MS + SLACK_MS;
        try {
          const ex = await exchange(paths[h.socket], h.bytes, {
            halfClose: h.halfClose,
            timeoutMs: bound,
          });
          if (!ex.closed) problems.push(`${h.socket} frame ${next}: not closed within ${bound} ms`);
          const frames = replyFrames(ex.bytes);
          for (const f of frames) {
            if (replyStatus(f) === 0) problems.push(`${h.socket}: an OK reply to a hostile frame`);
          }
          if (frames.length > 0) replies++;
          else closes++;
        } catch (err) {
          problems.push(`${h.socket}: ${(err as Error).message}`);
        }
        done++;
      }
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, (await memoryOf(d.pid)).rss);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // Valid notifications, sent while the barrage is at full strength.
    const valid = (async () => {
      const timings: { pid: number; replyMs: number; recordedMs: number; status: number }[] = [];
      for (const [k, at] of [500, 1500, 2500].entries()) {
        await waitFor(() => done >= at, { timeoutMs: 60_000, what: `${at} hostile frames` });
        const pid = 70_000 + k;
        const payload = onAnyCoreDump(pid, `rel-valid-${k}`);
        const sent = performance.now();
        const ex = await exchange(paths.notify, frame(1, payload.byteLength, payload), {
          untilFrame: true,
          timeoutMs: 10_000,
        });
        const replyMs = performance.now() - sent;
        const [reply] = replyFrames(ex.bytes);
        assert.ok(reply !== undefined, `no reply to the valid notification of pid ${pid}`);
        const crash = await waitFor(async () => {
          const [c] = await history(dirs, { pid });
          return c !== undefined && c.outcome !== "pending" ? c : undefined;
        }, { timeoutMs: 5000, what: `the crash of pid ${pid} in the history` });
        timings.push({
          pid,
          replyMs,
          recordedMs: performance.now() - sent,
          status: replyStatus(reply),
        });
        assert.equal(crash.outcome, "ok", JSON.stringify(crash));
        assert.deepEqual(
          crash.results.map((r) => [r.trigger, r.outcome, r.snapshot]),
          [[trigger, "ok", `core-rel-valid-${k}-${pid}`]],
        );
      }
      return timings;
    })();

    const started = performance.now();
    await Promise.all(Array.from({ length: 64 }, worker));
    const barrageMs = performance.now() - started;
    const timings = await valid;
    sampling = false;
    await sampler;
    const after = await memoryOf(d.pid);
    peakRss = Math.max(peakRss, after.rss);

    figures.push(
      `barrage: ${hostile.length} hostile frames in ${
        Math.round(barrageMs)
      } ms (${replies} error replies, ${closes} closes) with 300 idle connections`,
      `valid notification reply ${
        timings.map((t) => `${Math.round(t.replyMs)}`).join("/")
      } ms, recorded with its outcome ${
        timings.map((t) => `${Math.round(t.recordedMs)}`).join("/")
      } ms after sending`,
      `daemon RSS ${mib(before.rss)} MiB before, ${mib(peakRss)} MiB peak sampled, ${
        mib(after.rss)
      } MiB after; VmHWM ${mib(after.hwm)} MiB`,
    );
    console.log(figures.join("\n"));

    assert.deepEqual(problems.slice(0, 10), []);
    assert.equal(done, hostile.length);
    for (const t of timings) {
      assert.ok(t.replyMs < 1000, `pid ${t.pid}: replied after ${Math.round(t.replyMs)} ms`);
      assert.ok(
        t.recordedMs < 1000,
        `pid ${t.pid}: in the history with its outcome ${Math.round(t.recordedMs)} ms after`,
      );
      assert.equal(t.status, 0, "OK: the snapshot ran");
    }
    assert.ok(after.hwm < 256 * MiB, `VmHWM ${mib(after.hwm)} MiB`);
    assert.ok(peakRss < 256 * MiB, `VmRSS reached ${mib(peakRss)} MiB`);
  } finally {
    for (const c of idle) {
      try {
        c.close();
      } catch { /* dropped by the daemon */ }
    }
  }
  assert.equal(d.status, undefined, d.log);
  // Only the valid notifications are in the history: the barrage recorded nothing.
  assert.deepEqual((await history(dirs)).map((c) => c.pid), [70_000, 70_001, 70_002]);
  const r = await client(dirs, "list");
  assertExit(r, 0);
  assert.match(r.stdout, /^valid\s/m, show(r));
  const snapshots = (await fake.calls()).filter((c) => c.includes("snapshot record"));
  assert.equal(snapshots.length, 3, snapshots.join("\n"));
});

// --- 3. Durability ----------------------------------------------------------------------

Deno.test("rate-policy, cooldown and max-per-day counters survive kill -9 and restarts", async () => {
  await using dirs = await makeDirs();
  await using fake = await fakeLttng("ok");
  const start = () => startDaemonOnPath(dirs, fake.path);
  let d = await start();
  try {
    const session = uniqueSession("durable");
    await addTrigger(dirs, [
      "-n",
      "every2",
      "--exec=every2",
      "--rate-policy=every:2",
      "-s",
      session,
      "OnAnyCoreDump",
      "snapshot",
    ]);
    await addTrigger(dirs, [
      "-n",
      "cool",
      "--exec=cool*",
      "--cooldown=1h",
      "-s",
      session,
      "OnAnyCoreDump",
      "snapshot",
    ]);
    await addTrigger(dirs, [
      "-n",
      "daily",
      "--exec=daily",
      "--max-per-day=2",
      "-s",
      session,
      "OnAnyCoreDump",
      "snapshot",
    ]);

    let pid = 40_000;
    const pids: Record<string, number[]> = { every2: [], cool: [], daily: [] };
    const crashOnce = async (exec: string, trigger = exec) => {
      const p = pid++;
      const r = await cli(notifyArgs(dirs, String(p), "0", "0", exec, "rel-host"));
      assertExit(r, 0);
      // The daemon logs a crash once it is recorded with its outcome.
      await waitFor(() => d.log.includes(`crash pid=${p} `), {
        what: `the daemon to finish the crash of pid ${p}`,
      });
      pids[trigger].push(p);
    };
    const round = async (n: number) => {
      for (let i = 0; i < n; i++) {
        for (const exec of ["every2", "cool", "daily"]) await crashOnce(exec);
      }
    };
    const killAndRestart = async () => {
      await d.kill9();
      assert.equal(d.status?.signal, "SIGKILL");
      d = await start();
    };

    // 1 crash each, kill -9, 2 each, kill -9, 3 each: 6 per trigger, as one run would see.
    await round(1);
    await killAndRestart();
    await round(2);
    await killAndRestart();
    await round(3);
    // The cooldown is per exec name: another program matching the trigger still fires.
    await crashOnce("cool-b", "cool");

    const crashes = await history(dirs);
    const pattern = (trigger: string) =>
      pids[trigger].map((p) => {
        const c = crashes.find((x) => x.pid === p);
        const r = c?.results.find((x) => x.trigger === trigger);
        return r === undefined ? `missing(${c?.outcome})` : r.outcome === "skipped" ? "s" : "F";
      }).join("");
    assert.deepEqual(
      { every2: pattern("every2"), cool: pattern("cool"), daily: pattern("daily") },
      { every2: "sFsFsF", cool: "FsssssF", daily: "FFssss" },
    );
    const reasons = (trigger: string) =>
      crashes.flatMap((c) =>
        c.results.filter((r) => r.trigger === trigger && r.outcome === "skipped")
      ).map((r) => r.reason ?? "");
    for (const r of reasons("every2")) assert.match(r, /rate policy every:2/);
    for (const r of reasons("cool")) assert.match(r, /cooldown 1h/);
    for (const r of reasons("daily")) assert.match(r, /max-per-day 2/);

    const counters = Object.fromEntries(
      (await listTriggers(dirs)).map((t) => [t.name, [t.hits, t.fired]]),
    );
    assert.deepEqual(counters, { cool: [7, 2], daily: [6, 2], every2: [6, 3] });
    // And the actions that ran are exactly the ones allowed: 7 snapshots.
    const snapshots = (await fake.calls()).filter((c) => c.includes("snapshot record"));
    assert.equal(snapshots.length, 7, snapshots.join("\n"));
  } finally {
    await d.stop();
  }
});

async function mount(dir: string, sizeKiB: number): Promise<void> {
  await commandOutput("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0700`, "tmpfs", dir]);
}

async function unmount(dir: string): Promise<void> {
  for (const args of [[dir], ["-l", dir]]) {
    const out = await new Deno.Command("umount", { args, stdout: "null", stderr: "piped" })
      .output();
    if (out.success) return;
  }
  throw new Error(`cannot unmount ${dir}`);
}

/** Write zeros into `path` until the filesystem is full; returns the bytes written. */
async function fill(path: string): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true });
  let written = 0;
  try {
    for (const chunk of [65536, 4096, 512, 1]) {
      const zeros = new Uint8Array(chunk);
      for (;;) {
        try {
          written += await file.write(zeros);
        } catch {
          break; // ENOSPC
        }
      }
    }
  } finally {
    file.close();
  }
  return written;
}

Deno.test("on a full state filesystem, set fails with exit 1 and adds nothing, and a crash is still acted on", async () => {
  await using dirs = await makeDirs();
  const state = `${dirs.scratch}/state-tmpfs`;
  await Deno.mkdir(state, { mode: 0o700 });
  await mount(state, 512);
  try {
    await using fake = await fakeLttng("ok");
    await using d = await startDaemonOnPath({ run: dirs.run, state }, fake.path);
    const session = uniqueSession("full");
    await addTrigger(dirs, ["-n", "before-full", "-s", session, "OnAnyCoreDump", "snapshot"]);
    const filled = await fill(`${state}/filler`);
    assert.ok(filled > 0);

    const set = await client(dirs, "set", [
      "-n",
      "when-full",
      "-s",
      session,
      "OnAnyCoreDump",
      "stop",
    ]);
    assertExit(set, 1);
    assert.equal(set.stdout, "", show(set));
    assert.match(set.stderr, /^Error: Cannot save the trigger: .*full/m, show(set));
    assert.match(set.stderr, /free space/, show(set));
    assert.deepEqual((await listTriggers(dirs)).map((t) => t.name), ["before-full"]);

    // The notifier's own journal is elsewhere: a reply means it journals nothing.
    const r = await cli(notifyArgs(dirs, "8888", "0", "0", "full-x", "rel-host"), {
      env: { LTTNG_TRIG_DEBUG: "1" },
    });
    assertExit(r, 0);
    const run = JSON.parse(r.stderr.trim().split("\n").at(-1)!) as {
      deliveries: { outcome: string; fired?: number }[];
    };
    assert.deepEqual(run.deliveries.map((x) => [x.outcome, x.fired]), [["replied", 1]], r.stderr);
    assert.ok(
      (await fake.calls()).some((c) =>
        c.includes("snapshot record") && c.includes(`--session=${session}`) &&
        c.includes("--name=core-full-x-8888")
      ),
      `the snapshot did not run: ${(await fake.calls()).join("\n")}`,
    );
    await waitFor(() => /store: .*the crash is acted on but not recorded/.test(d.log), {
      what: `the daemon to log that it could not record the crash:\n${d.log}`,
    });
    assert.equal(await exists(`${dirs.state}/notifier.log`), false);
    assert.equal(d.status, undefined, d.log);

    // Once there is room again, the daemon writes again.
    await Deno.remove(`${state}/filler`);
    await addTrigger(dirs, ["-n", "after-full", "-s", session, "OnAnyCoreDump", "stop"]);
    assert.deepEqual((await listTriggers(dirs)).map((t) => t.name), ["after-full", "before-full"]);
  } finally {
    await unmount(state);
  }
});
