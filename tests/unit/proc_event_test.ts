import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CN_MSG_SIZE,
  CnProc,
  decodeProcEvent,
  encodeListen,
  NLMSG_HDR_SIZE,
  PROC_EVENT_SIZE,
  PROC_MESSAGE_MAX,
  PROC_MESSAGE_SIZE,
} from "../../lib/daemon/proc_event.ts";

/** A connector message as the kernel builds one (drivers/connector/cn_proc.c). */
function kernelMessage(
  what: number,
  data: number[],
  options: { ts?: bigint; dataLen?: number; nlLen?: number; type?: number; idx?: number } = {},
): Uint8Array {
  const dataLen = options.dataLen ?? PROC_EVENT_SIZE;
  const total = NLMSG_HDR_SIZE + CN_MSG_SIZE + dataLen;
  const u8 = new Uint8Array(total);
  const v = new DataView(u8.buffer);
  v.setUint32(0, options.nlLen ?? total, true);
  v.setUint16(4, options.type ?? 3, true);
  v.setUint32(16, options.idx ?? 1, true);
  v.setUint32(20, 1, true);
  v.setUint16(32, dataLen, true);
  if (dataLen >= 16) {
    v.setUint32(36, what, true);
    v.setUint32(40, 1, true);
    v.setBigUint64(44, options.ts ?? 123_456_789n, true);
  }
  data.forEach((d, i) => {
    if (52 + 4 * i + 4 <= total) v.setInt32(52 + 4 * i, d, true);
  });
  return u8;
}

Deno.test("the layouts are the kernel's: nlmsghdr 16, cn_msg 20, proc_event 40 bytes", () => {
  assert.equal(NLMSG_HDR_SIZE, 16);
  assert.equal(CN_MSG_SIZE, 20);
  assert.equal(PROC_EVENT_SIZE, 40);
  assert.equal(PROC_MESSAGE_SIZE, 76);
});

Deno.test("decodeProcEvent() reads a PROC_EVENT_COREDUMP's thread, process, parent and time", () => {
  const ev = decodeProcEvent(
    kernelMessage(0x4000_0000, [1235, 1234, 99, 98], { ts: 452_634_666_643n }),
  );
  assert.deepEqual(ev, {
    type: "coredump",
    pid: 1235,
    tgid: 1234,
    parentPid: 99,
    parentTgid: 98,
    timestampNs: 452_634_666_643n,
    cpu: 1,
  });
});

Deno.test("decodeProcEvent() reads the kernel's acknowledgement and its errno", () => {
  assert.deepEqual(decodeProcEvent(kernelMessage(0, [1])), { type: "ack", err: 1 });
  assert.deepEqual(decodeProcEvent(kernelMessage(0, [0])), { type: "ack", err: 0 });
});

Deno.test("decodeProcEvent() names another event without reading it", () => {
  assert.deepEqual(decodeProcEvent(kernelMessage(0x8000_0000, [5, 5, 0, 0])), {
    type: "other",
    what: 0x8000_0000,
  });
});

Deno.test("decodeProcEvent() refuses a frame shorter than a netlink header", () => {
  assert.throws(() => decodeProcEvent(new Uint8Array(15)), RangeError);
});

Deno.test("decodeProcEvent() refuses a datagram past its cap before reading it", () => {
  assert.throws(
    () => decodeProcEvent(new Uint8Array(PROC_MESSAGE_MAX + 1)),
    /over 4096/,
  );
});

Deno.test("decodeProcEvent() refuses an nlmsg_len longer or much shorter than the datagram", () => {
  assert.throws(
    () => decodeProcEvent(kernelMessage(0x4000_0000, [1, 1], { nlLen: 77 })),
    /nlmsg_len/,
  );
  assert.throws(
    () => decodeProcEvent(kernelMessage(0x4000_0000, [1, 1], { nlLen: 60 })),
    /nlmsg_len/,
  );
  assert.throws(
    () => decodeProcEvent(kernelMessage(0x4000_0000, [1, 1], { nlLen: 8 })),
    /nlmsg_len/,
  );
});

Deno.test("decodeProcEvent() refuses another netlink type or another connector", () => {
  assert.throws(
    () => decodeProcEvent(kernelMessage(0x4000_0000, [1, 1], { type: 2 })),
    SyntaxError,
  );
  assert.throws(
    () => decodeProcEvent(kernelMessage(0x4000_0000, [1, 1], { idx: 7 })),
    /connector id 7\.1/,
  );
});

Deno.test("decodeProcEvent() refuses a proc_event shorter than 40 bytes", () => {
  assert.throws(
    () => decodeProcEvent(kernelMessage(0x4000_0000, [1, 1], { dataLen: 24 })),
    /expected a 40-byte proc_event, got 24/,
  );
});

Deno.test("decodeProcEvent() refuses a cn_msg whose len is not what follows", () => {
  const u8 = kernelMessage(0x4000_0000, [1, 1]);
  new DataView(u8.buffer).setUint16(32, 200, true);
  assert.throws(() => decodeProcEvent(u8), /cn_msg len 200/);
});

Deno.test("decodeProcEvent() refuses a coredump of pid 0 or a negative pid", () => {
  assert.throws(() => decodeProcEvent(kernelMessage(0x4000_0000, [0, 0])), /pid 0 tgid 0/);
  assert.throws(() => decodeProcEvent(kernelMessage(0x4000_0000, [-5, 3])), /pid -5/);
});

Deno.test("decodeProcEvent() reads a longer proc_event of a later kernel by its known part", () => {
  const ev = decodeProcEvent(kernelMessage(0x4000_0000, [7, 7, 1, 1], { dataLen: 48 }));
  assert.equal(ev.type, "coredump");
});

Deno.test("decodeProcEvent() only throws RangeError or SyntaxError on any bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeProcEvent(bytes);
      } catch (err) {
        assert.ok(err instanceof RangeError || err instanceof SyntaxError, String(err));
      }
    }),
  );
});

Deno.test("encodeListen() writes PROC_CN_MCAST_LISTEN, filtered to PROC_EVENT_COREDUMP", () => {
  const u8 = encodeListen({ filtered: true, seq: 2, pid: 0 });
  const v = new DataView(u8.buffer);
  assert.equal(v.getUint32(0, true), 44);
  assert.equal(v.getUint16(4, true), CnProc.NLMSG_DONE);
  assert.equal(v.getUint32(16, true), 1);
  assert.equal(v.getUint32(20, true), 1);
  assert.equal(v.getUint16(32, true), 8);
  assert.equal(v.getUint32(36, true), 1);
  assert.equal(v.getUint32(40, true), 0x4000_0000);
  const bare = encodeListen({ filtered: false, seq: 1, pid: 0 });
  assert.equal(bare.byteLength, 40);
  assert.equal(new DataView(bare.buffer).getUint16(32, true), 4);
});
