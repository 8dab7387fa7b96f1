import assert from "node:assert/strict";
import { decodeHeader, encodeHeaderInto, HEADER_SIZE } from "../../lib/wire/header.ts";

Deno.test("encodeHeaderInto() writes cmd then msg_size as little-endian uint32", () => {
  const buf = new Uint8Array(8);
  const next = encodeHeaderInto({ cmd: 1, msgSize: 522 }, buf, 0);
  assert.equal(next, HEADER_SIZE);
  assert.deepEqual([...buf], [1, 0, 0, 0, 0x0a, 0x02, 0, 0]);
});

Deno.test("encodeHeaderInto() writes at the given offset and leaves other bytes alone", () => {
  const buf = new Uint8Array(12).fill(0xee);
  const next = encodeHeaderInto({ cmd: 0x8000_0001, msgSize: 0x0102_0304 }, buf, 2);
  assert.equal(next, 10);
  assert.deepEqual(
    [...buf],
    [0xee, 0xee, 0x01, 0x00, 0x00, 0x80, 0x04, 0x03, 0x02, 0x01, 0xee, 0xee],
  );
});

Deno.test("encodeHeaderInto() rejects a target with less than 8 bytes of room", () => {
  assert.throws(() => encodeHeaderInto({ cmd: 1, msgSize: 0 }, new Uint8Array(7)), RangeError);
  assert.throws(() => encodeHeaderInto({ cmd: 1, msgSize: 0 }, new Uint8Array(8), 1), RangeError);
});

Deno.test("encodeHeaderInto() rejects cmd or msg_size outside uint32", () => {
  const buf = new Uint8Array(8);
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
    assert.throws(() => encodeHeaderInto({ cmd: bad, msgSize: 0 }, buf), RangeError);
    assert.throws(() => encodeHeaderInto({ cmd: 1, msgSize: bad }, buf), RangeError);
  }
  assert.deepEqual([...buf], [0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("decodeHeader() reads little-endian uint32 values up to 2^32-1", () => {
  assert.deepEqual(decodeHeader(new Uint8Array([1, 0, 0, 0, 10, 2, 0, 0])), {
    cmd: 1,
    msgSize: 522,
  });
  assert.deepEqual(decodeHeader(new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255])), {
    cmd: 0xffff_ffff,
    msgSize: 0xffff_ffff,
  });
});

Deno.test("decodeHeader() rejects a frame shorter than 8 bytes", () => {
  for (let n = 0; n < 8; n++) {
    assert.throws(() => decodeHeader(new Uint8Array(n)), {
      name: "RangeError",
      message: `Cannot decode header: expected 8 bytes, got ${n}`,
    });
  }
});

Deno.test("decodeHeader() honours the byteOffset of a subarray view", () => {
  const backing = new Uint8Array([9, 9, 9, 2, 0, 0, 0, 7, 0, 0, 0]);
  assert.deepEqual(decodeHeader(backing.subarray(3)), { cmd: 2, msgSize: 7 });
});
