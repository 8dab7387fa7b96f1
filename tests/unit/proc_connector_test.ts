import assert from "node:assert/strict";
import { ProcConnectorSocket } from "../../lib/daemon/proc_connector.ts";
import { CN_MSG_SIZE, NLMSG_HDR_SIZE, PROC_EVENT_SIZE } from "../../lib/daemon/proc_event.ts";
import { LIBC_PATHS } from "../../lib/sys/ffi.ts";
import { requirement } from "../fixtures/require.ts";
import { waitFor } from "../fixtures/wait.ts";

const NEEDS = Deno.uid() !== 0 ? "the process connector needs root (CAP_NET_ADMIN)" : undefined;

/** A forged PROC_EVENT_COREDUMP, as a local process could build one. */
function forged(tgid: number): Uint8Array<ArrayBuffer> {
  const u8 = new Uint8Array(NLMSG_HDR_SIZE + CN_MSG_SIZE + PROC_EVENT_SIZE);
  const v = new DataView(u8.buffer);
  v.setUint32(0, u8.byteLength, true);
  v.setUint16(4, 3, true);
  v.setUint32(16, 1, true);
  v.setUint32(20, 1, true);
  v.setUint16(32, PROC_EVENT_SIZE, true);
  v.setUint32(36, 0x4000_0000, true);
  v.setInt32(52, tgid, true);
  v.setInt32(56, tgid, true);
  return u8;
}

Deno.test({
  name: "ProcConnectorSocket drops a PROC_EVENT_COREDUMP that another process sends it",
  ignore: requirement(NEEDS),
  async fn() {
    const seen: number[] = [];
    const s = await ProcConnectorSocket.open({
      onCoredump: (e) => seen.push(e.tgid),
      log: () => {},
    });
    assert.ok(typeof s !== "string", String(s));
    const lib = Deno.dlopen(
      LIBC_PATHS.find((p) => {
        try {
          Deno.statSync(p);
          return true;
        } catch {
          return false;
        }
      })!,
      {
        socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
        sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
        close: { parameters: ["i32"], result: "i32" },
      },
    );
    try {
      const fd = lib.symbols.socket(16, 2, 11);
      assert.ok(fd >= 0);
      const to = new Uint8Array(12);
      new DataView(to.buffer).setUint16(0, 16, true);
      new DataView(to.buffer).setUint32(4, s.portId, true);
      const msg = forged(Deno.pid);
      const sent = Number(lib.symbols.sendto(fd, msg, BigInt(msg.byteLength), 0, to, 12));
      lib.symbols.close(fd);
      assert.equal(sent, msg.byteLength, "the forged datagram was sent");
      await waitFor(() => s.counts.refused >= 1, { timeoutMs: 5000, what: "the refusal" });
      assert.deepEqual(seen, []);
      assert.equal(s.counts.coredumps, 0);
    } finally {
      lib.close();
      await s.close();
    }
  },
});
