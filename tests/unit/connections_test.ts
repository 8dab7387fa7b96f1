import assert from "node:assert/strict";
import { SocketServer } from "../../lib/daemon/connections.ts";
import { listenWithPeers } from "../../lib/daemon/peer_listener.ts";
import { libc, type PeerCredentials } from "../../lib/daemon/libc.ts";
import { encodeHeaderInto, HEADER_SIZE } from "../../lib/wire/header.ts";
import { writeAll } from "../../lib/wire/frame.ts";

function frame(cmd: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + 1);
  encodeHeaderInto({ cmd, msgSize: 1 }, bytes, 0);
  return bytes;
}

/** Resolves to null once the server closes `conn`, or to "open" after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<null | "open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    conn.read(new Uint8Array(16)).then((n) => n === null ? null : "open" as const),
    new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), ms)),
  ]);
  clearTimeout(timer);
  return r;
}

Deno.test("SocketServer refuses a connection past the cap when every one is being answered", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-conns-" });
  const path = `${dir}/s`;
  const answering = Promise.withResolvers<void>();
  const log: string[] = [];
  let busy = 0;
  const server = new SocketServer(Deno.listen({ transport: "unix", path }), {
    maxConnections: 2,
    frameTimeoutMs: 5000,
    maxPayload: () => 1,
    onFrameError: () => undefined,
    async onFrame() {
      busy++;
      await answering.promise;
      return { close: true };
    },
    log: (line) => log.push(line),
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await Deno.connect({ transport: "unix", path });
      conns.push(c);
      await c.write(frame(1));
    }
    while (busy < 2) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 3; i++) {
      const extra = await Deno.connect({ transport: "unix", path });
      conns.push(extra);
      assert.equal(await closedWithin(extra, 2000), null, "a connection past the cap was kept");
    }
    assert.equal(server.connections, 2);
    assert.equal(server.refused, 3);
    assert.equal(log.length, 1, "refusals are logged at most once a second");
    assert.match(log[0], /^1 connection\(s\) refused so far: all 2 are being answered$/);
  } finally {
    answering.resolve();
    for (const c of conns) c.close();
    await server.close(100);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SocketServer drops the oldest idle connection for a new one when full", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-conns-" });
  const path = `${dir}/s`;
  const server = new SocketServer(Deno.listen({ transport: "unix", path }), {
    maxConnections: 2,
    maxPayload: () => 1,
    onFrameError: () => undefined,
    onFrame: () => Promise.resolve({ close: true }),
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) conns.push(await Deno.connect({ transport: "unix", path }));
    while (server.connections < 2) await new Promise((r) => setTimeout(r, 5));
    conns.push(await Deno.connect({ transport: "unix", path }));
    assert.equal(await closedWithin(conns[0], 2000), null, "the oldest idle one stayed open");
    assert.equal(server.refused, 0);
  } finally {
    for (const c of conns) c.close();
    await server.close(100);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SocketServer on a PeerListener hands each frame its sender's SO_PEERCRED, a large frame whole, and no child its listener", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-conns-" });
  const path = `${dir}/s`;
  const peers: (PeerCredentials | undefined)[] = [];
  const sizes: number[] = [];
  const c = libc();
  if (typeof c === "string") throw new Error(c);
  const server = new SocketServer(await listenWithPeers(path, c), {
    maxPayload: () => 1 << 20,
    onFrameError: () => undefined,
    onFrame(f, peer) {
      peers.push(peer);
      sizes.push(f.payload.byteLength);
      return Promise.resolve({ reply: f.payload });
    },
  });
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    // 1 MiB: more than the listener buffers before it stops reading.
    const bytes = new Uint8Array(HEADER_SIZE + (1 << 20)).fill(7);
    encodeHeaderInto({ cmd: 1, msgSize: 1 << 20 }, bytes, 0);
    await writeAll(conn, bytes);
    const back = new Uint8Array(1 << 20);
    let got = 0;
    while (got < back.byteLength) {
      const n = await conn.read(back.subarray(got));
      if (n === null) break;
      got += n;
    }
    // No child the daemon runs holds the listener (Deno's node:net leaves it inheritable).
    const child = await new Deno.Command("/bin/sh", {
      args: ["-c", 'for f in /proc/$$/fd/*; do readlink "$f"; done'],
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.doesNotMatch(new TextDecoder().decode(child.stdout), /^socket:/m);
    conn.close();
    assert.equal(got, 1 << 20);
    assert.ok(back.every((b) => b === 7));
    assert.deepEqual(sizes, [1 << 20]);
    assert.deepEqual(peers, [{ pid: Deno.pid, uid: Deno.uid(), gid: Deno.gid() }]);
  } finally {
    await server.close(100);
    await Deno.remove(dir, { recursive: true });
  }
});
