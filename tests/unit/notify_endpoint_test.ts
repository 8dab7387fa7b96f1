import assert from "node:assert/strict";
import { NotifyEndpoint, type NotifyEndpointOptions } from "../../lib/daemon/notify_endpoint.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { decodeNotifyReply, encodeOnAnyCoreDump, NotifyStatus } from "../../lib/wire/notify.ts";
import { HEADER_SIZE } from "../../lib/wire/header.ts";
import { encodeOnAnyCoreDumpExt } from "../../lib/wire/notify_ext.ts";

/** An endpoint of a daemon running as `uid`, on a socket in a temporary directory. */
async function endpoint(uid: number, extra: Partial<NotifyEndpointOptions> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-endpoint-" });
  const path = `${dir}/notify`;
  const listener = Deno.listen({ transport: "unix", path });
  const handled: CrashFacts[] = [];
  const log: string[] = [];
  const ep = new NotifyEndpoint(listener, {
    uid,
    crashes: {
      handle(facts, _source, onRelease) {
        handled.push(facts);
        onRelease?.({ fired: 0, failed: 0 });
        return Promise.resolve({ id: 1, fired: 0, failed: 0, outcome: "no-trigger", results: [] });
      },
    },
    recordCore: () => {},
    procReader: "no /proc in this test",
    stopping: () => false,
    replyTimeoutMs: 2000,
    frameTimeoutMs: 2000,
    maxConnections: 8,
    log: (line) => log.push(line),
    ...extra,
  });
  return {
    handled,
    log,
    /** Send `frame`; resolves to every byte the daemon sent back before closing. */
    async send(frame: Uint8Array): Promise<Uint8Array> {
      const conn = await Deno.connect({ transport: "unix", path });
      try {
        await conn.write(frame);
        const out: number[] = [];
        const buf = new Uint8Array(64);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          out.push(...buf.subarray(0, n));
          if (out.length >= 20) break;
        }
        return new Uint8Array(out);
      } finally {
        conn.close();
      }
    },
    async [Symbol.asyncDispose]() {
      await ep.close(100);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const CRASH = { pid: 4242, gid: 1001, execName: "app", hostname: "h" };

Deno.test("NotifyEndpoint: a user's daemon drops a notification of another uid, unanswered", async () => {
  await using ep = await endpoint(1001);
  for (
    const frame of [
      encodeOnAnyCoreDump({ ...CRASH, uid: 1002 }),
      encodeOnAnyCoreDump({ ...CRASH, uid: 0 }),
      encodeOnAnyCoreDumpExt({ ...CRASH, uid: 0xffff_ffff, globalPid: 4242 }),
    ]
  ) {
    assert.equal((await ep.send(frame)).byteLength, 0, "a dropped notification is not answered");
  }
  assert.deepEqual(ep.handled, [], "a foreign crash reached the crash handler");
  assert.equal(ep.log.length, 3);
  assert.match(ep.log[0], /^dropped a notification of uid 1002 \(pid 4242\): .* uid 1001 only$/);
  assert.match(ep.log[2], /uid 4294967295/);
});

Deno.test("NotifyEndpoint: a user's daemon acts on its own uid's crash", async () => {
  await using ep = await endpoint(1001);
  const reply = await ep.send(encodeOnAnyCoreDump({ ...CRASH, uid: 1001 }));
  assert.equal(decodeNotifyReply(reply.subarray(HEADER_SIZE)).status, NotifyStatus.OK);
  assert.deepEqual(ep.handled.map((f) => f.uid), [1001]);
});

Deno.test("NotifyEndpoint: root's daemon acts on every uid's crash", async () => {
  await using ep = await endpoint(0);
  for (const uid of [0, 1001, 0xffff_ffff]) {
    const reply = await ep.send(encodeOnAnyCoreDump({ ...CRASH, uid }));
    assert.equal(decodeNotifyReply(reply.subarray(HEADER_SIZE)).status, NotifyStatus.OK);
  }
  assert.deepEqual(ep.handled.map((f) => f.uid), [0, 1001, 0xffff_ffff]);
});

Deno.test("NotifyEndpoint keeps what /proc/PID said only if the pidfd held meanwhile says the process is still there", async () => {
  const status = "Name:\tapp\nState:\tR\nUid:\t1001\t1001\t1001\t1001\nNSpid:\t4242\n" +
    "CoreDumping:\t1\n";
  const files: Record<string, string> = {
    "/proc/4242/status": status,
    "/proc/4242/cmdline": "/opt/app\0--flag\0",
  };
  const procReader = { readFile: (f: string) => files[f], readLink: () => undefined };
  for (const alive of [true, false]) {
    const held: string[] = [];
    await using ep = await endpoint(0, {
      procReader,
      holdPid: (pid) => {
        held.push(`hold ${pid}`);
        return { alive: () => alive, close: () => held.push("close") };
      },
    });
    await ep.send(encodeOnAnyCoreDumpExt({ ...CRASH, uid: 1001, globalPid: 4242 }));
    assert.deepEqual(held, ["hold 4242", "close"]);
    assert.deepEqual(ep.handled[0].cmdline, alive ? ["/opt/app", "--flag"] : undefined);
  }
});
