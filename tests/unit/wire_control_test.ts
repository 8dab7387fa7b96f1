import assert from "node:assert/strict";
import {
  ControlCommand,
  type ControlReply,
  ControlStatus,
  decodeControlReply,
  decodeControlRequest,
  encodeControlReply,
  encodeControlRequest,
  MAX_CONTROL_REQUEST,
  REPLY_BIT,
} from "../../lib/wire/control.ts";
import { decodeHeader, HEADER_SIZE } from "../../lib/wire/header.ts";

const encoder = new TextEncoder();

/** A reply payload (after the header) with the given fields, lengths as given. */
function replyPayload(
  status: number,
  errorLen: number,
  payloadLen: number,
  data: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(12 + data.byteLength);
  const v = new DataView(p.buffer);
  v.setInt32(0, status, true);
  v.setUint32(4, errorLen, true);
  v.setUint32(8, payloadLen, true);
  p.set(data, 12);
  return p;
}

Deno.test("encodeControlRequest() frames the JSON payload behind a header", () => {
  const frame = encodeControlRequest(ControlCommand.REMOVE, { name: "t1" });
  const body = encoder.encode('{"name":"t1"}');
  assert.deepEqual(decodeHeader(frame), { cmd: 3, msgSize: body.byteLength });
  assert.deepEqual(frame.subarray(HEADER_SIZE), body);
});

Deno.test("encodeControlRequest() then decodeControlRequest() round-trips a request", () => {
  const request = {
    session: "s",
    condition: { type: "OnAnyCoreDump", exec: "ünïcode*", uids: [0, 1000] },
    action: { type: "snapshot", maxSize: 1 << 20 },
  };
  const frame = encodeControlRequest(ControlCommand.SET, request);
  assert.deepEqual(decodeControlRequest(frame.subarray(HEADER_SIZE)), request);
});

Deno.test("encodeControlRequest() sends null for an undefined payload", () => {
  const frame = encodeControlRequest(ControlCommand.LIST, undefined);
  assert.equal(new TextDecoder().decode(frame.subarray(HEADER_SIZE)), "null");
  assert.equal(decodeControlRequest(frame.subarray(HEADER_SIZE)), null);
});

Deno.test("encodeControlRequest() refuses a payload over the request limit", () => {
  assert.throws(
    () => encodeControlRequest(ControlCommand.SET, "x".repeat(MAX_CONTROL_REQUEST)),
    RangeError,
  );
});

Deno.test("decodeControlRequest() treats an empty payload as null", () => {
  assert.equal(decodeControlRequest(new Uint8Array(0)), null);
});

Deno.test("decodeControlRequest() rejects a payload that is not UTF-8", () => {
  assert.throws(() => decodeControlRequest(new Uint8Array([0x22, 0xff, 0x22])), {
    name: "SyntaxError",
    message: /not UTF-8/,
  });
});

Deno.test("decodeControlRequest() rejects a payload that is not JSON", () => {
  assert.throws(() => decodeControlRequest(encoder.encode("{name:")), {
    name: "SyntaxError",
    message: /not JSON/,
  });
});

Deno.test("encodeControlReply() lays out status, lengths, error text then JSON", () => {
  const frame = encodeControlReply(ControlCommand.SET, {
    status: ControlStatus.EXISTS,
    error: "dup",
    payload: { a: 1 },
  });
  const json = encoder.encode('{"a":1}');
  assert.deepEqual(decodeHeader(frame), {
    cmd: (ControlCommand.SET | REPLY_BIT) >>> 0,
    msgSize: 12 + 3 + json.byteLength,
  });
  assert.equal(decodeHeader(frame).cmd, 0x8000_0001);
  assert.deepEqual([...frame.subarray(8, 20)], [4, 0, 0, 0, 3, 0, 0, 0, json.byteLength, 0, 0, 0]);
  assert.deepEqual([...frame.subarray(20, 23)], [...encoder.encode("dup")]);
  assert.deepEqual(frame.subarray(23), json);
});

Deno.test("encodeControlReply() then decodeControlReply() round-trips replies", () => {
  const replies: ControlReply[] = [
    { status: ControlStatus.OK, error: "", payload: { triggers: [{ name: "t" }] } },
    { status: ControlStatus.NOT_FOUND, error: "no trigger named `x`", payload: null },
    { status: -7, error: "négatif", payload: [1, "two", null] },
    { status: ControlStatus.OK, error: "", payload: 0 },
    { status: ControlStatus.OK, error: "", payload: "" },
  ];
  for (const reply of replies) {
    const frame = encodeControlReply(ControlCommand.LIST, reply);
    assert.equal(decodeHeader(frame).msgSize, frame.byteLength - HEADER_SIZE);
    assert.deepEqual(decodeControlReply(frame.subarray(HEADER_SIZE)), reply);
  }
});

Deno.test("encodeControlReply() sends an undefined payload as an empty one", () => {
  const frame = encodeControlReply(ControlCommand.STATUS, {
    status: 0,
    error: "",
    payload: undefined,
  });
  assert.equal(frame.byteLength, HEADER_SIZE + 12);
  assert.deepEqual(decodeControlReply(frame.subarray(HEADER_SIZE)), {
    status: 0,
    error: "",
    payload: null,
  });
});

Deno.test("decodeControlReply() rejects a payload shorter than its 12 fixed bytes", () => {
  for (const n of [0, 4, 11]) {
    assert.throws(() => decodeControlReply(new Uint8Array(n)), RangeError);
  }
});

Deno.test("decodeControlReply() rejects lengths that claim more bytes than there are", () => {
  const data = encoder.encode("err{}");
  assert.throws(() => decodeControlReply(replyPayload(1, 4, 2, data)), RangeError);
  assert.throws(() => decodeControlReply(replyPayload(1, 6, 0, data)), RangeError);
  assert.throws(
    () => decodeControlReply(replyPayload(1, 0xffff_ffff, 0xffff_ffff, data)),
    RangeError,
  );
  assert.throws(() => decodeControlReply(replyPayload(1, 0, 0xffff_ffff, data)), RangeError);
});

Deno.test("decodeControlReply() rejects lengths that claim fewer bytes than there are", () => {
  const data = encoder.encode("err{}");
  assert.throws(() => decodeControlReply(replyPayload(1, 3, 1, data)), {
    name: "RangeError",
    message: "Cannot decode reply: lengths say 16 bytes, got 17",
  });
  assert.throws(() => decodeControlReply(replyPayload(1, 0, 0, data)), RangeError);
});

Deno.test("decodeControlReply() accepts lengths that match exactly", () => {
  const data = encoder.encode("err{}");
  assert.deepEqual(decodeControlReply(replyPayload(2, 3, 2, data)), {
    status: 2,
    error: "err",
    payload: {},
  });
});

Deno.test("decodeControlReply() rejects error text that is not UTF-8", () => {
  const data = new Uint8Array([0xc3, 0x28]);
  assert.throws(() => decodeControlReply(replyPayload(1, 2, 0, data)), SyntaxError);
});

Deno.test("decodeControlReply() rejects a payload that is not UTF-8 JSON", () => {
  assert.throws(
    () => decodeControlReply(replyPayload(0, 0, 3, encoder.encode("{x:"))),
    SyntaxError,
  );
  assert.throws(
    () => decodeControlReply(replyPayload(0, 0, 2, new Uint8Array([0x22, 0xff]))),
    SyntaxError,
  );
});

Deno.test("decodeControlReply() reads status as a signed int32", () => {
  const p = replyPayload(0, 0, 0, new Uint8Array(0));
  p.set([0xff, 0xff, 0xff, 0xff], 0);
  assert.equal(decodeControlReply(p).status, -1);
});
