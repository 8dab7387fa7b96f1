/**
 * Hostile clients on a real daemon's sockets (raw bytes through Deno.connect): the daemon
 * answers or closes, never allocates what a header claims, drops idle clients, and keeps
 * serving `lttng-trig list`.
 */
import assert from "node:assert/strict";
import { waitFor } from "../fixtures/wait.ts";
import {
  closeQuietly,
  collect,
  type Exchange,
  frame,
  memoryOf,
  onAnyCoreDump,
  REPLY_BIT,
  type ReplyFrame,
  replyFrames,
  send,
} from "../fixtures/rel_wire.ts";
import {
  addTrigger,
  assertExit,
  client,
  daemon,
  listTriggers,
  makeDirs,
  show,
  type TestDirs,
  uniqueSession,
} from "./_helpers.ts";

/** The daemon's default deadline for a whole frame (the CLI has no option for it). */
const FRAME_DEADLINE_MS = 5000;

function replyOf(ex: Exchange): ReplyFrame | undefined {
  if (ex.bytes.byteLength === 0) return undefined;
  const frames = replyFrames(ex.bytes);
  assert.equal(frames.length, 1, "a reply frame and nothing else");
  return frames[0];
}

/** A control reply's status and error text. */
function controlStatus(reply: ReplyFrame): { status: number; error: string } {
  const view = new DataView(reply.payload.buffer, reply.payload.byteOffset);
  const errorLen = view.getUint32(4, true);
  return {
    status: view.getInt32(0, true),
    error: new TextDecoder().decode(reply.payload.subarray(12, 12 + errorLen)),
  };
}

/** A notify reply's status. */
function notifyStatus(reply: ReplyFrame): number {
  assert.equal(reply.cmd, 0x8000_0001);
  assert.equal(reply.payload.byteLength, 12);
  return new DataView(reply.payload.buffer, reply.payload.byteOffset).getInt32(0, true);
}

function paths(dirs: TestDirs) {
  return {
    control: `${dirs.run}/client-lttng-trig`,
    notify: `${dirs.run}/notify-lttng-sessiond`,
  };
}

async function assertStillServes(dirs: TestDirs, names: string[]): Promise<void> {
  const r = await client(dirs, "list");
  assertExit(r, 0);
  for (const name of names) assert.match(r.stdout, new RegExp(`^${name}\\s`, "m"), show(r));
}

Deno.test("unknown commands get an error reply or a close on both sockets", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const name = await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const { control, notify } = paths(dirs);

  for (const cmd of [0, 99, 0x7fff_ffff, REPLY_BIT | 2, 0xffff_ffff]) {
    for (const size of [0, 16]) {
      const ex = await collect(await send(control, frame(cmd, size, new Uint8Array(size))), {
        timeoutMs: 5000,
      });
      assert.ok(ex.closed, `control cmd ${cmd}: not closed within 5 s`);
      const reply = replyOf(ex);
      if (reply !== undefined) {
        assert.equal(reply.cmd, (cmd | REPLY_BIT) >>> 0);
        const { status, error } = controlStatus(reply);
        assert.notEqual(status, 0);
        assert.match(error, /[Uu]nknown command/);
      }
    }
  }
  for (const cmd of [0, 2, 99, 0x8000_0001, 0xffff_ffff]) {
    const ex = await collect(await send(notify, frame(cmd, 0)), { timeoutMs: 5000 });
    assert.ok(ex.closed, `notify cmd ${cmd}: not closed within 5 s`);
    const reply = replyOf(ex);
    if (reply !== undefined) assert.notEqual(notifyStatus(reply), 0);
  }
  assert.equal(d.status, undefined, d.log);
  await assertStillServes(dirs, [name]);
});

Deno.test("msg_size 0xFFFFFFFF is refused promptly, without the daemon allocating it", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const name = await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const { control, notify } = paths(dirs);
  const before = await memoryOf(d.pid);

  const cases: [string, number][] = [[control, 1], [control, 2], [control, 4], [notify, 1]];
  for (const [path, cmd] of cases) {
    for (const size of [0xffff_ffff, 0x8000_0000, 64 * 1024 * 1024]) {
      // Some payload bytes follow, as a real attacker would send.
      const ex = await collect(await send(path, frame(cmd, size, new Uint8Array(1024))), {
        timeoutMs: 5000,
      });
      assert.ok(ex.closed, `${path} cmd ${cmd} size ${size}: not closed within 5 s`);
      assert.ok(ex.elapsedMs < 3000, `took ${Math.round(ex.elapsedMs)} ms`);
      const reply = replyOf(ex);
      if (reply !== undefined) {
        if (path === control) {
          const { status, error } = controlStatus(reply);
          assert.notEqual(status, 0);
          assert.match(error, /msg_size|limit/);
        } else {
          assert.notEqual(notifyStatus(reply), 0);
        }
      }
    }
  }
  const after = await memoryOf(d.pid);
  const MiB = 1024 * 1024;
  assert.ok(
    after.hwm - before.hwm < 256 * MiB,
    `RSS peak grew by ${(after.hwm - before.hwm) / MiB} MiB`,
  );
  assert.ok(
    after.peak - before.peak < 1024 * MiB,
    `VM peak grew by ${(after.peak - before.peak) / MiB} MiB`,
  );
  assert.equal(d.status, undefined, d.log);
  await assertStillServes(dirs, [name]);
});

Deno.test("malformed frames and payloads are answered with an error and change nothing", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const name = await addTrigger(dirs, [
    "-n",
    "kept",
    "-s",
    uniqueSession(),
    "OnAnyCoreDump",
    "stop",
  ]);
  const { control, notify } = paths(dirs);
  const enc = new TextEncoder();

  // Control requests that are not JSON, not UTF-8, or not a trigger.
  const bad: [number, Uint8Array][] = [
    [1, enc.encode("{{{")],
    [1, new Uint8Array([0xff, 0xfe, 0x00])],
    [1, enc.encode('"a string"')],
    [1, enc.encode(JSON.stringify({ session: "", condition: { type: "OnAnyCoreDump" } }))],
    [
      1,
      enc.encode(
        JSON.stringify({
          name: "kept",
          session: "x",
          condition: { type: "OnAnyCoreDump" },
          action: { type: "stop" },
        }),
      ),
    ],
    [3, enc.encode("null")],
    [3, enc.encode(JSON.stringify({ name: 42 }))],
    [4, enc.encode(JSON.stringify({ limit: -1 }))],
    [4, enc.encode(JSON.stringify({ limit: 1e300 }))],
  ];
  for (const [cmd, payload] of bad) {
    const ex = await collect(await send(control, frame(cmd, payload.byteLength, payload)), {
      timeoutMs: 5000,
      untilFrame: true,
    });
    const reply = replyOf(ex);
    assert.ok(reply !== undefined || ex.closed, "neither a reply nor a close");
    if (reply !== undefined) {
      assert.equal(reply.cmd, (cmd | REPLY_BIT) >>> 0);
      assert.notEqual(controlStatus(reply).status, 0, new TextDecoder().decode(payload));
    }
  }

  // Notifications of a wrong size, or with a string that has no NUL.
  const noNul = new Uint8Array(522).fill(0x41);
  for (const payload of [new Uint8Array(100), new Uint8Array(523), noNul]) {
    const ex = await collect(await send(notify, frame(1, payload.byteLength, payload)), {
      timeoutMs: 5000,
      untilFrame: true,
    });
    const reply = replyOf(ex);
    assert.ok(reply !== undefined || ex.closed);
    if (reply !== undefined) assert.equal(notifyStatus(reply), 3);
  }

  // Frames cut short: a partial header, a partial payload.
  for (
    const [path, bytes] of [
      [control, new Uint8Array([2, 0, 0])],
      [control, frame(2, 100, new Uint8Array(10))],
      [notify, frame(1, 522, new Uint8Array(200))],
    ] as const
  ) {
    const conn = await send(path, bytes);
    await conn.closeWrite();
    const ex = await collect(conn, { timeoutMs: 5000 });
    assert.ok(ex.closed);
  }

  assert.equal(d.status, undefined, d.log);
  assert.deepEqual((await listTriggers(dirs)).map((t) => [t.name, t.hits]), [[name, 0]]);
  const h = await client(dirs, "history");
  assert.equal(h.stderr, "No crashes recorded.\n", show(h));
});

Deno.test("a notification laid out by a C compiler (524 bytes) or packed (522) fires", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  const { notify } = paths(dirs);
  for (const [pid, size] of [[4242, 524], [4343, 522]]) {
    const payload = onAnyCoreDump(pid, "c-client", "c-host", size);
    const ex = await collect(await send(notify, frame(1, size, payload)), {
      timeoutMs: 15_000,
      untilFrame: true,
    });
    const reply = replyOf(ex);
    assert.ok(reply !== undefined, "no reply");
    // The snapshot (which holds the reply) fails, no such session: ACTION_FAILED, 1 and 1.
    assert.equal(notifyStatus(reply), 1, d.log);
    const view = new DataView(reply.payload.buffer, reply.payload.byteOffset);
    assert.deepEqual([view.getUint32(4, true), view.getUint32(8, true)], [1, 1]);
  }
  const r = await client(dirs, "history", ["--json"]);
  const crashes =
    (JSON.parse(r.stdout) as { crashes: { pid: number; execName: string; hostname: string }[] })
      .crashes;
  assert.deepEqual(crashes.map((c) => [c.pid, c.execName, c.hostname]), [
    [4242, "c-client", "c-host"],
    [4343, "c-client", "c-host"],
  ]);
});

Deno.test("a silent client is dropped after the frame deadline while others are served", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const name = await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const { control, notify } = paths(dirs);

  // One says nothing, one stops in the middle of a header, one in the middle of a payload.
  const silent = [
    await send(control, new Uint8Array(0)),
    await send(notify, new Uint8Array(0)),
    await send(control, new Uint8Array([2, 0, 0, 0, 2])),
    await send(notify, frame(1, 522, new Uint8Array(100))),
  ];
  const dropped = silent.map((conn) => collect(conn, { timeoutMs: FRAME_DEADLINE_MS + 10_000 }));

  // Meanwhile the daemon serves everyone else.
  for (let i = 0; i < 3; i++) await assertStillServes(dirs, [name]);
  const n = await client(dirs, "list", ["--json"]);
  assertExit(n, 0);

  for (const ex of await Promise.all(dropped)) {
    assert.ok(ex.closed, "a silent client was never dropped");
    assert.ok(ex.elapsedMs < FRAME_DEADLINE_MS + 10_000);
  }
  assert.equal(d.status, undefined, d.log);
  await assertStillServes(dirs, [name]);
});

Deno.test("more idle connections than the daemon holds do not lock out a real client", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const name = await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const { control } = paths(dirs);
  const idle: Deno.UnixConn[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      idle.push(await Deno.connect({ transport: "unix", path: control }));
    }
    await assertStillServes(dirs, [name]);
    // The daemon dropped idle ones to make room: at least 300 - 256 of them, well before
    // the frame deadline would have.
    let dropped = 0;
    const reads = idle.map((c) => c.read(new Uint8Array(1)).then(() => dropped++, () => dropped++));
    await waitFor(() => dropped >= 300 - 256, {
      what: "idle connections to be evicted",
      timeoutMs: FRAME_DEADLINE_MS - 1000,
    });
    for (const c of idle) closeQuietly(c);
    await Promise.all(reads);
  } finally {
    for (const c of idle) closeQuietly(c);
  }
  assert.equal(d.status, undefined, d.log);
  await assertStillServes(dirs, [name]);
});
