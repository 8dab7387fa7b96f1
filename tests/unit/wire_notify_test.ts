import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeNotifyReply,
  decodeOnAnyCoreDump,
  encodeNotifyReply,
  encodeOnAnyCoreDump,
  encodeOnAnyCoreDumpInto,
  EXEC_NAME_SIZE,
  HOSTNAME_SIZE,
  NOTIFY_REPLY_ID_SIZE,
  NOTIFY_REPLY_SIZE,
  NotifyCommand,
  NotifyStatus,
  ONANYCOREDUMP_C_SIZE,
  ONANYCOREDUMP_SIZE,
  type OnAnyCoreDumpMessage,
  readNotifyReply,
} from "../../lib/wire/notify.ts";
import {
  decodeCoreResult,
  encodeChainResult,
  encodeCoreResult,
} from "../../lib/wire/notify_results.ts";
import { namingCrash, NotifyRefCommand, splitCrashId } from "../../lib/wire/notify_ref.ts";
import { decodeCString, encodeCStringInto } from "../../lib/wire/cstring.ts";
import { type ByteReader, FrameError } from "../../lib/wire/frame.ts";

const encoder = new TextEncoder();

const APACHE: OnAnyCoreDumpMessage = {
  pid: 42,
  uid: 1000,
  gid: 1000,
  execName: "apache2",
  hostname: "A_HOST_NAME",
};

/** The RFC example as a C sender would lay it out, built byte by byte. */
function goldenApachePayload(size: number): Uint8Array {
  const p = new Uint8Array(size);
  p.set([42, 0, 0, 0], 0);
  p.set([0xe8, 0x03, 0, 0], 4);
  p.set([0xe8, 0x03, 0, 0], 8);
  p.set(encoder.encode("apache2"), 12);
  p.set(encoder.encode("A_HOST_NAME"), 267);
  return p;
}

function payloadWith(exec: Uint8Array, host: Uint8Array, size = ONANYCOREDUMP_SIZE): Uint8Array {
  const p = new Uint8Array(size);
  p.set(exec, 12);
  p.set(host, 267);
  return p;
}

Deno.test("struct sizes are those of the RFC: 255-byte names, 522 packed, 524 padded", () => {
  assert.equal(EXEC_NAME_SIZE, 255);
  assert.equal(HOSTNAME_SIZE, 255);
  assert.equal(ONANYCOREDUMP_SIZE, 522);
  assert.equal(ONANYCOREDUMP_C_SIZE, 524);
  assert.equal(NotifyCommand.ONANYCOREDUMP, 1);
});

Deno.test("encodeOnAnyCoreDump() produces the golden frame of the RFC example", () => {
  const frame = encodeOnAnyCoreDump(APACHE);
  assert.equal(frame.byteLength, 8 + 522);
  // Header: cmd 1, msg_size 522, little-endian.
  assert.deepEqual([...frame.subarray(0, 8)], [1, 0, 0, 0, 0x0a, 0x02, 0, 0]);
  const payload = frame.subarray(8);
  // pid at 0, uid at 4, gid at 8: little-endian uint32.
  assert.deepEqual([...payload.subarray(0, 4)], [42, 0, 0, 0]);
  assert.deepEqual([...payload.subarray(4, 8)], [0xe8, 0x03, 0, 0]);
  assert.deepEqual([...payload.subarray(8, 12)], [0xe8, 0x03, 0, 0]);
  // exec_name at 12, hostname at 267.
  assert.deepEqual([...payload.subarray(12, 19)], [...encoder.encode("apache2")]);
  assert.deepEqual([...payload.subarray(267, 278)], [...encoder.encode("A_HOST_NAME")]);
  // Everything else is zero: NUL terminators and padding.
  assert.ok(payload.subarray(19, 267).every((b) => b === 0), "exec_name zero-padded");
  assert.ok(payload.subarray(278, 522).every((b) => b === 0), "hostname zero-padded");
  assert.deepEqual(payload, goldenApachePayload(522));
});

Deno.test("encodeOnAnyCoreDumpInto() overwrites stale bytes with zero padding", () => {
  const target = new Uint8Array(530).fill(0xaa);
  const next = encodeOnAnyCoreDumpInto(APACHE, target, 8);
  assert.equal(next, 530);
  assert.deepEqual(target.subarray(8), goldenApachePayload(522));
  assert.ok(target.subarray(0, 8).every((b) => b === 0xaa), "bytes before offset untouched");
});

Deno.test("encodeOnAnyCoreDumpInto() rejects a target without 522 bytes of room", () => {
  assert.throws(() => encodeOnAnyCoreDumpInto(APACHE, new Uint8Array(521)), RangeError);
  assert.throws(() => encodeOnAnyCoreDumpInto(APACHE, new Uint8Array(522), 1), RangeError);
});

Deno.test("encodeOnAnyCoreDump() writes u32 extremes little-endian", () => {
  const frame = encodeOnAnyCoreDump({ ...APACHE, pid: 0xffff_ffff, uid: 0, gid: 0x0102_0304 });
  assert.deepEqual([...frame.subarray(8, 20)], [255, 255, 255, 255, 0, 0, 0, 0, 4, 3, 2, 1]);
});

Deno.test("encodeOnAnyCoreDump() rejects a pid, uid or gid outside uint32", () => {
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => encodeOnAnyCoreDump({ ...APACHE, pid: bad }), {
      name: "RangeError",
      message: /pid/,
    });
    assert.throws(() => encodeOnAnyCoreDump({ ...APACHE, uid: bad }), /uid/);
    assert.throws(() => encodeOnAnyCoreDump({ ...APACHE, gid: bad }), /gid/);
  }
});

Deno.test("encodeOnAnyCoreDump() rejects an exec name or hostname containing NUL", () => {
  assert.throws(() => encodeOnAnyCoreDump({ ...APACHE, execName: "a\0b" }), TypeError);
  assert.throws(() => encodeOnAnyCoreDump({ ...APACHE, hostname: "\0" }), TypeError);
});

Deno.test("encodeOnAnyCoreDump() truncates an over-long ASCII name to 254 bytes plus NUL", () => {
  const frame = encodeOnAnyCoreDump({ ...APACHE, execName: "x".repeat(300) });
  const payload = frame.subarray(8);
  assert.ok(payload.subarray(12, 12 + 254).every((b) => b === 0x78));
  assert.equal(payload[12 + 254], 0, "the NUL always fits");
  assert.equal(decodeOnAnyCoreDump(payload).execName, "x".repeat(254));
  assert.equal(decodeOnAnyCoreDump(payload).hostname, "A_HOST_NAME");
});

Deno.test("encodeCStringInto() cuts UTF-8 at a character boundary, never inside one", () => {
  // 253 ASCII bytes then a 3-byte character: 256 bytes, the character must go whole.
  const value = "a".repeat(253) + "€";
  const field = new Uint8Array(255).fill(0xaa);
  assert.equal(encodeCStringInto(value, 255, field, 0), 255);
  assert.ok(field.subarray(0, 253).every((b) => b === 0x61));
  assert.ok(field.subarray(253).every((b) => b === 0), "partial character replaced by NUL");
  assert.equal(decodeCString(field, 0, 255, "f"), "a".repeat(253));

  // 4-byte characters: 63 of them fill 252 bytes, the 64th would end at 256.
  const emoji = "😀".repeat(70);
  const f2 = new Uint8Array(255);
  encodeCStringInto(emoji, 255, f2, 0);
  assert.equal(decodeCString(f2, 0, 255, "f"), "😀".repeat(63));
  assert.ok(f2.subarray(252).every((b) => b === 0));
});

Deno.test("encodeCStringInto() keeps a character that ends exactly at byte 254", () => {
  const value = "a".repeat(252) + "é" + "b"; // 252 + 2 + 1 = 255 bytes, one too many
  const field = new Uint8Array(255);
  encodeCStringInto(value, 255, field, 0);
  assert.equal(decodeCString(field, 0, 255, "f"), "a".repeat(252) + "é");
  assert.equal(field[254], 0);
});

Deno.test("encodeCStringInto() rejects a target without room for the field", () => {
  assert.throws(() => encodeCStringInto("a", 4, new Uint8Array(3), 0), RangeError);
});

Deno.test("decodeOnAnyCoreDump() decodes the packed 522-byte payload", () => {
  assert.deepEqual(decodeOnAnyCoreDump(goldenApachePayload(522)), APACHE);
});

Deno.test("decodeOnAnyCoreDump() decodes C's padded 524-byte payload", () => {
  assert.deepEqual(decodeOnAnyCoreDump(goldenApachePayload(524)), APACHE);
});

Deno.test("decodeOnAnyCoreDump() ignores the 2 trailing padding bytes even when non-zero", () => {
  const p = goldenApachePayload(524);
  p[522] = 0xde;
  p[523] = 0xad;
  assert.deepEqual(decodeOnAnyCoreDump(p), APACHE);
});

Deno.test("decodeOnAnyCoreDump() rejects every size but 522 and 524", () => {
  for (const n of [0, 1, 8, 12, 267, 521, 523, 525, 526, 1044, 1 << 20]) {
    assert.throws(() => decodeOnAnyCoreDump(new Uint8Array(n)), {
      name: "RangeError",
      message: `Cannot decode ONANYCOREDUMP: expected 522 or 524 bytes, got ${n}`,
    });
  }
});

Deno.test("decodeOnAnyCoreDump() rejects an exec_name with no NUL in 255 bytes", () => {
  const p = payloadWith(new Uint8Array(255).fill(0x41), encoder.encode("h"));
  assert.throws(() => decodeOnAnyCoreDump(p), { name: "SyntaxError", message: /exec_name/ });
});

Deno.test("decodeOnAnyCoreDump() rejects a hostname with no NUL in 255 bytes", () => {
  const p = payloadWith(encoder.encode("e"), new Uint8Array(255).fill(0x41));
  assert.throws(() => decodeOnAnyCoreDump(p), { name: "SyntaxError", message: /hostname/ });
  // Even in the padded size, where a non-zero byte at 522 is padding and not a NUL.
  const padded = payloadWith(encoder.encode("e"), new Uint8Array(255).fill(0x41), 524);
  assert.throws(() => decodeOnAnyCoreDump(padded), SyntaxError);
});

Deno.test("decodeOnAnyCoreDump() ignores garbage after the NUL of a string", () => {
  const exec = new Uint8Array(255).fill(0x7a);
  exec.set(encoder.encode("bash\0"), 0);
  const p = payloadWith(exec, encoder.encode("host\0garbage"));
  const msg = decodeOnAnyCoreDump(p);
  assert.equal(msg.execName, "bash");
  assert.equal(msg.hostname, "host");
});

Deno.test("decodeOnAnyCoreDump() turns invalid UTF-8 into U+FFFD instead of failing", () => {
  const p = payloadWith(new Uint8Array([0x61, 0xff, 0x62]), encoder.encode("h"));
  assert.equal(decodeOnAnyCoreDump(p).execName, "a\uFFFDb");
});

Deno.test("decodeOnAnyCoreDump() honours the byteOffset of a subarray", () => {
  const frame = encodeOnAnyCoreDump({ ...APACHE, pid: 7 });
  assert.deepEqual(decodeOnAnyCoreDump(frame.subarray(8)), { ...APACHE, pid: 7 });
});

Deno.test("encodeNotifyReply() writes a 12-byte reply with a signed status", () => {
  const frame = encodeNotifyReply({ status: -1, fired: 2, failed: 1 });
  assert.equal(frame.byteLength, 8 + NOTIFY_REPLY_SIZE);
  assert.deepEqual(
    [...frame],
    [1, 0, 0, 0x80, 12, 0, 0, 0, 255, 255, 255, 255, 2, 0, 0, 0, 1, 0, 0, 0],
  );
});

Deno.test("decodeNotifyReply() reads status as a signed int32", () => {
  const p = new Uint8Array([0xfe, 0xff, 0xff, 0xff, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(decodeNotifyReply(p), { status: -2, fired: 3, failed: 0xffff_ffff });
});

Deno.test("decodeNotifyReply() rejects a payload that is not exactly 12 or 24 bytes", () => {
  for (const n of [0, 11, 13, 16, 20, 23, 25]) {
    assert.throws(() => decodeNotifyReply(new Uint8Array(n)), RangeError);
  }
});

/** `bytes` as a stream, in reads of at most `chunk` bytes. */
function streamOf(bytes: Uint8Array, chunk = bytes.byteLength): ByteReader {
  let at = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      const n = Math.min(p.byteLength, chunk, bytes.byteLength - at);
      p.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n === 0 ? null : n);
    },
  };
}

Deno.test("readNotifyReply() round-trips encodeNotifyReply(), a byte at a time too", async () => {
  const reply = { status: NotifyStatus.ACTION_FAILED, fired: 3, failed: 1 };
  assert.deepEqual(await readNotifyReply(streamOf(encodeNotifyReply(reply))), reply);
  assert.deepEqual(await readNotifyReply(streamOf(encodeNotifyReply(reply), 1)), reply);
});

Deno.test("readNotifyReply() rejects another command, a longer payload and a short frame", async () => {
  const frame = encodeNotifyReply({ status: 0, fired: 0, failed: 0 });
  const other = frame.slice();
  other[0] = 2;
  await assert.rejects(readNotifyReply(streamOf(other)), FrameError);
  const longer = frame.slice();
  new DataView(longer.buffer).setUint32(4, NOTIFY_REPLY_ID_SIZE + 1, true);
  await assert.rejects(readNotifyReply(streamOf(longer)), FrameError);
  await assert.rejects(readNotifyReply(streamOf(frame.subarray(0, 19))), FrameError);
  await assert.rejects(readNotifyReply(streamOf(frame.subarray(0, 5))), FrameError);
  assert.equal(await readNotifyReply(streamOf(new Uint8Array(0))), null);
});

/** A string of arbitrary unicode with no NUL. */
const noNulString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
).map((s) => s.replaceAll("\0", ""));

/**
 * What the codec should produce for `s`: its UTF-8 cut at a boundary to <= 254 bytes (a
 * lone surrogate, which UTF-8 cannot carry, becomes U+FFFD).
 */
function expectedCString(s: string): string {
  let out = "";
  let bytes = 0;
  for (const ch of s.toWellFormed()) {
    const n = encoder.encode(ch).byteLength;
    if (bytes + n > 254) break;
    out += ch;
    bytes += n;
  }
  return out;
}

Deno.test("encodeOnAnyCoreDump() then decodeOnAnyCoreDump() round-trips any message", () => {
  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  fc.assert(
    fc.property(u32, u32, u32, noNulString, noNulString, (pid, uid, gid, execName, hostname) => {
      const frame = encodeOnAnyCoreDump({ pid, uid, gid, execName, hostname });
      assert.equal(frame.byteLength, 530);
      const decoded = decodeOnAnyCoreDump(frame.subarray(8));
      assert.deepEqual(decoded, {
        pid,
        uid,
        gid,
        execName: expectedCString(execName),
        hostname: expectedCString(hostname),
      });
      assert.ok(encoder.encode(decoded.execName).byteLength <= 254);
      assert.ok(encoder.encode(decoded.hostname).byteLength <= 254);
      // The padded C size decodes the same.
      const padded = new Uint8Array(524).fill(0xff);
      padded.set(frame.subarray(8));
      assert.deepEqual(decodeOnAnyCoreDump(padded), decoded);
    }),
    { numRuns: 500 },
  );
});

Deno.test("encodeNotifyReply() with a crash id writes the 24-byte reply; the 12-byte one is unchanged", async () => {
  const frame = encodeNotifyReply({ status: 1, fired: 2, failed: 1, crashId: 0x1_0000_0005 });
  assert.equal(frame.byteLength, 8 + NOTIFY_REPLY_ID_SIZE);
  assert.deepEqual(
    [...frame],
    [
      1,
      0,
      0,
      0x80,
      24,
      0,
      0,
      0, // header: REPLY, 24 bytes
      1,
      0,
      0,
      0,
      2,
      0,
      0,
      0,
      1,
      0,
      0,
      0, // the RFC's reply
      0,
      0,
      0,
      0, // reserved
      5,
      0,
      0,
      0,
      1,
      0,
      0,
      0, // crash_id
    ],
  );
  assert.deepEqual(await readNotifyReply(streamOf(frame)), {
    status: 1,
    fired: 2,
    failed: 1,
    crashId: 0x1_0000_0005,
  });
  // Without an id: the RFC's 12 bytes, as a C sender reads them.
  assert.equal(encodeNotifyReply({ status: 0, fired: 0, failed: 0 }).byteLength, 8 + 12);
});

Deno.test("readNotifyReply() reads the 12-byte reply and the 24-byte one", async () => {
  for (
    const reply of [{ status: 0, fired: 1, failed: 0 }, {
      status: 0,
      fired: 1,
      failed: 0,
      crashId: 9,
    }]
  ) {
    assert.deepEqual(await readNotifyReply(streamOf(encodeNotifyReply(reply))), reply);
  }
});

Deno.test("namingCrash() puts the crash id before a follow-up's payload, under command 5 or 6", () => {
  const core = encodeCoreResult({ pid: 7, kept: false, bytes: 3, text: "why" });
  assert.equal(namingCrash(core, undefined), core);
  assert.equal(namingCrash(core, 0), core);
  const named = namingCrash(core, 258);
  assert.deepEqual([...named.subarray(0, 16)], [
    5,
    0,
    0,
    0,
    18 + 3 + 8,
    0,
    0,
    0,
    2,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const { crashId, rest } = splitCrashId(named.subarray(8));
  assert.equal(crashId, 258);
  assert.deepEqual(decodeCoreResult(rest), { pid: 7, kept: false, bytes: 3, text: "why" });
  const chain = encodeChainResult({ pid: 7, outcome: "ok", durationMs: 1, bytes: 2, program: "p" });
  assert.equal(namingCrash(chain, 3)[0], NotifyRefCommand.CHAIN_RESULT_OF);
  assert.throws(
    () => namingCrash(encodeNotifyReply({ status: 0, fired: 0, failed: 0 }), 3),
    TypeError,
  );
  assert.throws(() => splitCrashId(new Uint8Array(7)), RangeError);
  assert.throws(() => splitCrashId(new Uint8Array(8)), RangeError, "id 0 names no crash");
});
