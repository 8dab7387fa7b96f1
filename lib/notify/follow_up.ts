/**
 * Follow-ups: what the notifier tells the daemons that replied once the crash was
 * released (where the core went, what the chained handler did), each on a new
 * connection, naming the crash by the id each reply gave. Loaded only when there is one.
 *
 * @module
 */
import { writeAll } from "../wire/frame.ts";
import { namingCrash } from "../wire/notify_ref.ts";
import { encodeCoreResult } from "../wire/notify_results.ts";
import type { Delivery } from "./deliver.ts";
import type { NotifierConn, NotifierIo } from "./notifier_io.ts";
import type { CoreFate } from "../protocol/records.ts";

/** The uid a daemon that replied runs as: root for the root daemon, `uid` for the user's. */
function ownerOf(d: Delivery, uid: number | undefined): number {
  return d.target === "root" ? 0 : uid ?? -1;
}

/**
 * Tell each daemon that replied in `deliveries` what became of the core of crash `pid`
 * (a CORE_RESULT), once, within 2 s each; a failed send is dropped (the crash was
 * released already).
 */
export async function sendCoreResult(
  deliveries: readonly Delivery[],
  uid: number | undefined,
  pid: number,
  core: CoreFate,
  io: Pick<NotifierIo, "connect">,
): Promise<void> {
  // CORE_RESULT carries the kept core's path, or why it was not kept.
  const text = (core.kept ? core.path : core.reason) ?? "";
  const result = encodeCoreResult({ pid, kept: core.kept, text, bytes: core.bytes });
  await Promise.all(
    deliveries.filter((d) => d.outcome === "replied").map((d) =>
      sendOnce(d.path, ownerOf(d, uid), namingCrash(result, d.crashId), io, 2000).catch(() => {})
    ),
  );
}

/**
 * Send `frame` (a follow-up that needs no reply, such as CHAIN_RESULT) to each daemon
 * that replied in `deliveries`, on a new connection each, within `timeoutMs` each, naming
 * the crash by the id that daemon's reply gave; only to a peer that runs as that socket's
 * owner (root for the root daemon, `uid` for the user's), as the first connection was. A
 * failed send is tried once more; resolves to what still failed, for the journal (the
 * crash was handled already: nothing waits on it).
 */
export async function sendToReplied(
  deliveries: readonly Delivery[],
  uid: number | undefined,
  frame: Uint8Array,
  io: Pick<NotifierIo, "connect">,
  timeoutMs = 2000,
): Promise<string[]> {
  const failures = await Promise.all(
    deliveries.filter((d) => d.outcome === "replied").map(async (d) => {
      const owner = ownerOf(d, uid);
      const named = namingCrash(frame, d.crashId);
      try {
        await sendOnce(d.path, owner, named, io, timeoutMs);
      } catch {
        try {
          await sendOnce(d.path, owner, named, io, timeoutMs);
        } catch (err) {
          return `cannot tell ${d.path}: ${(err as Error).message}`;
        }
      }
      return undefined;
    }),
  );
  return failures.filter((f) => f !== undefined);
}

/**
 * Send `frame` on a new connection to `path` and close, within `timeoutMs`; only to a
 * peer that runs as `owner`, as the first connection was.
 */
async function sendOnce(
  path: string,
  owner: number,
  frame: Uint8Array,
  io: Pick<NotifierIo, "connect">,
  timeoutMs: number,
): Promise<void> {
  let conn: NotifierConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      (async () => {
        conn = await io.connect(path);
        if (conn.peer?.uid !== owner) throw new Error("the peer is not the socket's owner");
        await writeAll(conn, frame);
      })(),
      new Promise((_, reject) => timer = setTimeout(() => reject(new Error("timeout")), timeoutMs)),
    ]);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}
