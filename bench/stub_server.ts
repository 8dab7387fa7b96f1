/**
 * A stand-in for the daemon's notification socket that answers OK to every notification
 * at once: no store, no trigger, no action. The floor of measurements 2 and 3.
 *
 * Used in-process ({@linkcode serveStub}) or as a process of its own:
 *
 *   deno run --no-config -A bench/stub_server.ts SOCKET_PATH
 *
 * @module
 */
import { encodeNotifyReply, NotifyStatus } from "../lib/wire/notify.ts";
import { readFrame, writeAll } from "../lib/wire/frame.ts";

/** A running stub; `close()` stops listening and drops its connections. */
export interface StubServer {
  close(): Promise<void>;
}

/** Listen on `path` and reply OK to each notification frame. */
export function serveStub(path: string): StubServer {
  const listener = Deno.listen({ transport: "unix", path });
  const reply = encodeNotifyReply({ status: NotifyStatus.OK, fired: 0, failed: 0 });
  const conns = new Set<Deno.Conn>();
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        try {
          while (await readFrame(conn, { maxPayload: () => 524 }) !== null) {
            await writeAll(conn, reply);
          }
        } catch {
          /* the sender left */
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
  return {
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
    },
  };
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (path === undefined) {
    console.error("Usage: deno run -A bench/stub_server.ts SOCKET_PATH");
    Deno.exit(2);
  }
  const stub = serveStub(path);
  Deno.addSignalListener("SIGTERM", () => {
    stub.close().finally(() => Deno.exit(0));
  });
}
