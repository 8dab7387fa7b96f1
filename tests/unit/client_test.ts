import assert from "node:assert/strict";
import { ControlClient, controlRequest, watchDaemon } from "../../lib/client/client.ts";
import {
  ControlRequestError,
  ControlTransportError,
  DaemonUnavailableError,
} from "../../lib/core/errors.ts";
import { ControlCommand, ControlStatus, encodeControlReply } from "../../lib/wire/control.ts";
import { HEADER_SIZE } from "../../lib/wire/header.ts";
import type { WatchEvent } from "../../lib/protocol/watch.ts";

/**
 * A fake daemon on a unix socket in a temporary directory: `answer` gets each
 * connection once its request header and payload are read, and decides what to send.
 */
async function fakeDaemon(
  answer: (conn: Deno.UnixConn, cmd: number) => Promise<void>,
): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-client-" });
  const path = `${dir}/client-lttng-trig`;
  const listener = Deno.listen({ transport: "unix", path });
  const served: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      served.push((async () => {
        try {
          const header = new Uint8Array(HEADER_SIZE);
          let got = 0;
          while (got < HEADER_SIZE) {
            const n = await conn.read(header.subarray(got));
            if (n === null) return;
            got += n;
          }
          const view = new DataView(header.buffer);
          const size = view.getUint32(4, true);
          const body = new Uint8Array(size);
          for (let read = 0; read < size;) {
            const n = await conn.read(body.subarray(read));
            if (n === null) return;
            read += n;
          }
          await answer(conn, view.getUint32(0, true));
        } catch {
          /* the client left */
        } finally {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })());
    }
  })();
  return {
    path,
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop.catch(() => {});
      await Promise.all(served);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("controlRequest() with no daemon rejects with DaemonUnavailableError, a transport error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-client-" });
  try {
    const path = `${dir}/client-lttng-trig`;
    const err = await controlRequest(path, ControlCommand.LIST, {}).catch((e) => e);
    assert.ok(err instanceof DaemonUnavailableError);
    assert.ok(err instanceof ControlTransportError);
    assert.ok(!(err instanceof ControlRequestError));
    assert.equal(err.reason, "unavailable");
    assert.equal(err.path, path);
    assert.equal(
      err.message,
      `no lttng-trig daemon answers on ${path}: start it with 'lttng-trig daemon' (or pass --run-dir)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("controlRequest() rejects with reason timeout when the daemon does not answer in time", async () => {
  await using daemon = await fakeDaemon(async (conn) => {
    await conn.read(new Uint8Array(1)); // until the client gives up
  });
  const err = await controlRequest(daemon.path, ControlCommand.STATUS, {}, { timeoutMs: 100 })
    .catch((e) => e);
  assert.ok(err instanceof ControlTransportError);
  assert.ok(!(err instanceof DaemonUnavailableError));
  assert.equal(err.reason, "timeout");
  assert.equal(err.message, `the daemon on ${daemon.path} did not answer within 100 ms`);
});

Deno.test("controlRequest() rejects with reason closed when the daemon closes without a reply", async () => {
  await using daemon = await fakeDaemon(() => Promise.resolve());
  const err = await controlRequest(daemon.path, ControlCommand.LIST, {}).catch((e) => e);
  assert.ok(err instanceof ControlTransportError);
  assert.equal(err.reason, "closed");
  assert.equal(err.message, "the daemon closed without replying");
});

Deno.test("controlRequest() rejects a daemon's refusal as ControlRequestError, not a transport error", async () => {
  await using daemon = await fakeDaemon(async (conn, cmd) => {
    await conn.write(encodeControlReply(cmd, {
      status: ControlStatus.NOT_FOUND,
      error: "no trigger named `x`: see 'lttng-trig list'",
      payload: null,
    }));
  });
  const err = await new ControlClient(daemon.path).remove("x").catch((e) => e);
  assert.ok(err instanceof ControlRequestError);
  assert.ok(!(err instanceof ControlTransportError));
  assert.equal(err.status, ControlStatus.NOT_FOUND);
  assert.equal(err.message, "no trigger named `x`: see 'lttng-trig list'");
});

Deno.test("ControlClient methods send their command and resolve to the typed payload", async () => {
  const seen: number[] = [];
  await using daemon = await fakeDaemon(async (conn, cmd) => {
    seen.push(cmd);
    const payload = cmd === ControlCommand.LIST
      ? { triggers: [] }
      : cmd === ControlCommand.HISTORY
      ? { crashes: [] }
      : { removed: "t1" };
    await conn.write(encodeControlReply(cmd, { status: ControlStatus.OK, error: "", payload }));
  });
  const client = new ControlClient(daemon.path);
  assert.deepEqual((await client.list()).triggers, []);
  assert.deepEqual((await client.history({ limit: 1 })).crashes, []);
  assert.equal((await client.remove("t1")).removed, "t1");
  assert.deepEqual(seen, [ControlCommand.LIST, ControlCommand.HISTORY, ControlCommand.REMOVE]);
});

Deno.test("watchDaemon() hands over each event, and rejects with reason closed when the daemon stops", async () => {
  await using daemon = await fakeDaemon(async (conn, cmd) => {
    for (const payload of [{ type: "watching", pid: 1 }, { type: "dropped", count: 2 }]) {
      await conn.write(encodeControlReply(cmd, { status: ControlStatus.OK, error: "", payload }));
    }
  });
  const events: WatchEvent[] = [];
  const err = await watchDaemon(daemon.path, (e) => events.push(e), new AbortController().signal)
    .catch((e) => e);
  assert.deepEqual(events, [{ type: "watching", pid: 1 }, { type: "dropped", count: 2 }]);
  assert.ok(err instanceof ControlTransportError);
  assert.equal(err.reason, "closed");
  assert.equal(err.message, "the daemon stopped");
});
