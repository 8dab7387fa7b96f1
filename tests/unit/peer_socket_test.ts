import assert from "node:assert/strict";
import { PeerListener, type PeerSocket } from "../../lib/daemon/peer_socket.ts";
import { pidfdAlive, pidfdPids } from "../../lib/sys/pidfd.ts";

/** A listener in a temporary directory, one client connected to it, and its connection. */
async function connected(
  fn: (l: PeerListener, path: string, client: Deno.Conn, conn: PeerSocket) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-peer-" });
  const path = `${dir}/s`;
  const listener = PeerListener.listen(path);
  try {
    const accepted = listener.accept();
    const client = await Deno.connect({ transport: "unix", path });
    await fn(listener, path, client, await accepted);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("PeerListener: a connection tells its peer's pid, uid and pidfd, and streams its bytes", async () => {
  await connected(async (_listener, _path, client, conn) => {
    assert.deepEqual(conn.peer, { pid: Deno.pid, uid: Deno.uid(), gid: Deno.gid() });
    assert.equal(conn.pidfdProblem, undefined);
    assert.deepEqual(pidfdPids(conn.pidfd!), { pid: Deno.pid, nsPids: [Deno.pid] });
    assert.equal(pidfdAlive(conn.pidfd!), true);
    await client.write(new TextEncoder().encode("head"));
    const buf = new Uint8Array(4);
    assert.equal(await conn.read(buf), 4);
    assert.equal(new TextDecoder().decode(buf), "head");
    await client.write(new TextEncoder().encode("the rest"));
    client.close();
    const rest = await new Response(conn.readable).text();
    assert.equal(rest, "the rest");
    assert.equal(await conn.read(buf), null, "closed at the end of the stream");
    // The pidfd closed with the connection.
    assert.match(pidfdPids(conn.pidfd!) as string, /cannot read|not a pidfd/);
  });
});

Deno.test("PeerListener: close ends a pending accept with BadResource, and a pending read with null", async () => {
  await connected(async (listener, path, client, conn) => {
    const reading = conn.read(new Uint8Array(16));
    conn.close();
    assert.equal(await reading, null);
    client.close();
    const pending = listener.accept();
    listener.close();
    await assert.rejects(pending, Deno.errors.BadResource);
    await assert.rejects(listener.accept(), Deno.errors.BadResource);
    await assert.rejects(Deno.connect({ transport: "unix", path }));
  });
});
