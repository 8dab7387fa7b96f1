import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeOnAnyCoreDumpExt,
  encodeOnAnyCoreDumpExt,
  EXT_STRING_MAX,
  ExtFlag,
  NotifyExtCommand,
  ONANYCOREDUMP_EXT_FIXED,
  ONANYCOREDUMP_EXT_OFFSETS,
  type OnAnyCoreDumpExtMessage,
} from "../../lib/wire/notify_ext.ts";
import {
  CORE_RESULT_OFFSETS,
  decodeCoreResult,
  encodeCoreResult,
} from "../../lib/wire/notify_results.ts";
import { ONANYCOREDUMP_SIZE } from "../../lib/wire/notify.ts";
import { utf8Prefix } from "../../lib/wire/cstring.ts";
import { decodeHeader, HEADER_SIZE } from "../../lib/wire/header.ts";

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

const BASE = { pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME" };

function payloadOf(frame: Uint8Array): Uint8Array {
  const h = decodeHeader(frame);
  assert.equal(h.msgSize, frame.byteLength - HEADER_SIZE);
  return frame.subarray(HEADER_SIZE);
}

Deno.test("ONANYCOREDUMP_EXT offsets follow the C struct, with the RFC's 522 bytes first", () => {
  const at = ONANYCOREDUMP_EXT_OFFSETS;
  assert.equal(at.pad, ONANYCOREDUMP_SIZE);
  assert.equal(ONANYCOREDUMP_EXT_FIXED, at.data);
  // Each field starts where the one before it ends, aligned to its own size.
  const fields: [number, number][] = [
    [at.flags, 4],
    [at.globalPid, 4],
    [at.signal, 4],
    [at.time, 8],
    [at.coreLimit, 8],
    [at.dumpMode, 4],
    [at.exeLen, 2],
    [at.cmdlineLen, 2],
  ];
  let next = at.pad + 2;
  for (const [offset, size] of fields) {
    assert.equal(offset, next);
    assert.equal(offset % size, 0);
    next = offset + size;
  }
  assert.equal(next, at.data);
  assert.deepEqual(CORE_RESULT_OFFSETS, { pid: 0, kept: 4, bytes: 8, textLen: 16, text: 18 });
});

Deno.test("encodeOnAnyCoreDumpExt() writes each fact at its offset, little-endian", () => {
  const frame = encodeOnAnyCoreDumpExt({
    ...BASE,
    globalPid: 0x01020304,
    signal: 11,
    time: 1_700_000_000,
    coreLimit: "unlimited",
    dumpMode: 1,
    exe: "/usr/sbin/apache2",
    cmdline: ["apache2", "-k"],
  });
  assert.equal(decodeHeader(frame).cmd, NotifyExtCommand.ONANYCOREDUMP_EXT);
  const p = payloadOf(frame);
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const at = ONANYCOREDUMP_EXT_OFFSETS;
  assert.deepEqual([...p.subarray(at.pad, at.pad + 2)], [0, 0]);
  assert.equal(view.getUint32(at.flags, true), 0x7f);
  assert.deepEqual([...p.subarray(at.globalPid, at.globalPid + 4)], [4, 3, 2, 1]);
  assert.equal(view.getUint32(at.signal, true), 11);
  assert.equal(view.getBigUint64(at.time, true), 1_700_000_000n);
  assert.equal(view.getBigUint64(at.coreLimit, true), 0xffff_ffff_ffff_ffffn);
  assert.equal(view.getUint32(at.dumpMode, true), 1);
  assert.equal(view.getUint16(at.exeLen, true), 17);
  assert.equal(view.getUint16(at.cmdlineLen, true), 10);
  assert.equal(new TextDecoder().decode(p.subarray(at.data)), "/usr/sbin/apache2apache2\0-k");
});

Deno.test("encodeOnAnyCoreDumpExt() leaves absent facts zero and unflagged", () => {
  const p = payloadOf(encodeOnAnyCoreDumpExt(BASE));
  assert.equal(p.byteLength, ONANYCOREDUMP_EXT_FIXED);
  assert.ok(p.subarray(ONANYCOREDUMP_SIZE).every((b) => b === 0));
  assert.deepEqual(decodeOnAnyCoreDumpExt(p), BASE);
});

Deno.test("encodeOnAnyCoreDumpExt() flags a crash released at once with RELEASED (1024), no field", () => {
  const p = payloadOf(encodeOnAnyCoreDumpExt({ ...BASE, released: true }));
  assert.equal(p.byteLength, ONANYCOREDUMP_EXT_FIXED, "no bytes of its own");
  const flags = new DataView(p.buffer, p.byteOffset).getUint32(
    ONANYCOREDUMP_EXT_OFFSETS.flags,
    true,
  );
  assert.equal(flags, 1024);
  assert.equal(ExtFlag.RELEASED, 1024);
  assert.deepEqual(decodeOnAnyCoreDumpExt(p), { ...BASE, released: true });
});

Deno.test("encodeOnAnyCoreDumpExt() caps exe and cmdline without cutting a character", () => {
  // 4095 ASCII bytes then a 2-byte character: 4097 bytes, the character does not fit.
  const exe = "a".repeat(EXT_STRING_MAX - 1) + "é";
  // 4-byte characters: 4096 is a multiple of 4, so 1024 fit and the next is left out.
  const arg = "😀".repeat(EXT_STRING_MAX / 4 + 1);
  const p = payloadOf(encodeOnAnyCoreDumpExt({ ...BASE, exe, cmdline: ["x", arg] }));
  const back = decodeOnAnyCoreDumpExt(p);
  assert.equal(back.exe, "a".repeat(EXT_STRING_MAX - 1));
  // "x\0" then as many whole 4-byte characters as fit in the remaining 4094 bytes.
  assert.deepEqual(back.cmdline, ["x", "😀".repeat(Math.floor((EXT_STRING_MAX - 2) / 4))]);
  assert.ok(!back.exe!.includes("\ufffd") && !back.cmdline!.join("").includes("\ufffd"));
});

Deno.test("encodeCoreResult() caps its text without cutting a character", () => {
  const text = "b".repeat(EXT_STRING_MAX - 2) + "€"; // a 3-byte character over the cap
  const back = decodeCoreResult(
    payloadOf(encodeCoreResult({ pid: 7, kept: false, bytes: 0, text })),
  );
  assert.equal(back.text, "b".repeat(EXT_STRING_MAX - 2));
});

Deno.test("decodeOnAnyCoreDumpExt() refuses a payload whose lengths do not add up", () => {
  const p = payloadOf(encodeOnAnyCoreDumpExt({ ...BASE, exe: "/bin/x" })).slice();
  assert.throws(() => decodeOnAnyCoreDumpExt(p.subarray(0, p.byteLength - 1)), RangeError);
  assert.throws(() => decodeOnAnyCoreDumpExt(p.subarray(0, ONANYCOREDUMP_EXT_FIXED - 1)), {
    name: "RangeError",
    message: /expected at least 560 bytes/,
  });
  new DataView(p.buffer).setUint16(ONANYCOREDUMP_EXT_OFFSETS.exeLen, EXT_STRING_MAX + 1, true);
  assert.throws(() => decodeOnAnyCoreDumpExt(p), /over 4096/);
});

Deno.test("decodeCoreResult() refuses a short payload or a wrong text_len", () => {
  const p = payloadOf(encodeCoreResult({ pid: 1, kept: true, bytes: 10, text: "/var/core" }));
  assert.throws(() => decodeCoreResult(p.subarray(0, 17)), RangeError);
  assert.throws(() => decodeCoreResult(p.subarray(0, p.byteLength - 1)), /text_len says/);
});

// Property tests.

const u32 = fc.nat({ max: 0xffff_ffff });
const text = (maxLength: number) =>
  fc.string({ unit: "grapheme", maxLength }).filter((s) => !s.includes("\0"));
const extMessage: fc.Arbitrary<OnAnyCoreDumpExtMessage> = fc.record({
  pid: u32,
  uid: u32,
  gid: u32,
  execName: fc.stringMatching(/^[a-z0-9_.-]{0,15}$/),
  hostname: fc.stringMatching(/^[a-z0-9.-]{0,40}$/),
  globalPid: fc.option(u32, { nil: undefined }),
  signal: fc.option(u32, { nil: undefined }),
  time: fc.option(fc.nat(), { nil: undefined }),
  coreLimit: fc.option(fc.oneof(fc.nat(), fc.constant("unlimited" as const)), { nil: undefined }),
  dumpMode: fc.option(u32, { nil: undefined }),
  exe: fc.option(text(64), { nil: undefined }),
  // [""] and [] are both an empty command line on the wire; [] is what comes back.
  cmdline: fc.option(
    fc.array(text(16), { maxLength: 6 }).filter((a) => a.length !== 1 || a[0] !== ""),
    { nil: undefined },
  ),
}, { requiredKeys: ["pid", "uid", "gid", "execName", "hostname"] });

Deno.test("property: decodeOnAnyCoreDumpExt(encode(m)) gives m back", () => {
  fc.assert(
    fc.property(extMessage, (m) => {
      const frame = encodeOnAnyCoreDumpExt(m);
      const expected = Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
      assert.deepEqual(decodeOnAnyCoreDumpExt(payloadOf(frame)), expected);
    }),
    { numRuns: 500 },
  );
});

Deno.test("property: a capped exe is the longest whole-character prefix that fits", () => {
  // Long strings of mixed widths: 1 to 4 bytes per character.
  const long = fc.array(fc.constantFrom("a", "é", "€", "😀"), { minLength: 1000, maxLength: 2500 })
    .map((chars) => chars.join(""));
  fc.assert(
    fc.property(long, (exe) => {
      const p = payloadOf(encodeOnAnyCoreDumpExt({ ...BASE, exe }));
      const len = new DataView(p.buffer, p.byteOffset).getUint16(
        ONANYCOREDUMP_EXT_OFFSETS.exeLen,
        true,
      );
      const bytes = p.subarray(ONANYCOREDUMP_EXT_FIXED, ONANYCOREDUMP_EXT_FIXED + len);
      const back = strict.decode(bytes); // throws on a cut character
      assert.ok(exe.startsWith(back));
      assert.ok(len <= EXT_STRING_MAX);
      const full = encoder.encode(exe).byteLength;
      if (full <= EXT_STRING_MAX) assert.equal(back, exe);
      else assert.ok(len > EXT_STRING_MAX - 4, `${len} bytes kept of ${full}`);
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: utf8Prefix() never splits a character and keeps all it can", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), fc.nat({ max: 250 }), (s, max) => {
      const bytes = encoder.encode(s);
      const prefix = utf8Prefix(bytes, max);
      assert.ok(prefix.byteLength <= max);
      assert.deepEqual(prefix, bytes.subarray(0, prefix.byteLength));
      const kept = strict.decode(prefix);
      assert.ok(s.startsWith(kept));
      // The next character (if any) would not have fitted.
      if (prefix.byteLength < bytes.byteLength) {
        const rest = s.slice(kept.length);
        const next = String.fromCodePoint(rest.codePointAt(0)!);
        assert.ok(prefix.byteLength + encoder.encode(next).byteLength > max);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("an ExtFlag bit per optional fact, all distinct", () => {
  const bits = Object.values(ExtFlag);
  assert.equal(new Set(bits).size, bits.length);
  assert.ok(bits.every((b) => b > 0 && (b & (b - 1)) === 0));
});

Deno.test("encodeOnAnyCoreDumpExt() puts the tid at 560 and the data after it, flagged TID", () => {
  const frame = encodeOnAnyCoreDumpExt({ ...BASE, tid: 0x01020304, exe: "/bin/x" });
  const p = payloadOf(frame);
  const at = ONANYCOREDUMP_EXT_OFFSETS;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  assert.equal(view.getUint32(at.flags, true), ExtFlag.TID | ExtFlag.EXE);
  assert.deepEqual([...p.subarray(at.tid, at.tid + 4)], [4, 3, 2, 1]);
  assert.equal(p.byteLength, at.dataAfterTid + 6);
  assert.equal(new TextDecoder().decode(p.subarray(at.dataAfterTid)), "/bin/x");
  assert.deepEqual(decodeOnAnyCoreDumpExt(p), { ...BASE, tid: 0x01020304, exe: "/bin/x" });
});

Deno.test("decodeOnAnyCoreDumpExt() reads an old sender's payload (no TID) as before", () => {
  const p = payloadOf(encodeOnAnyCoreDumpExt({ ...BASE, exe: "/bin/x", cmdline: ["x"] }));
  assert.equal(p.byteLength, ONANYCOREDUMP_EXT_FIXED + 7);
  const back = decodeOnAnyCoreDumpExt(p);
  assert.equal(back.tid, undefined);
  assert.equal(back.exe, "/bin/x");
  assert.deepEqual(back.cmdline, ["x"]);
});

Deno.test("decodeOnAnyCoreDumpExt() rejects a TID flag without its 4 bytes", () => {
  const p = payloadOf(encodeOnAnyCoreDumpExt(BASE)).slice();
  new DataView(p.buffer).setUint32(ONANYCOREDUMP_EXT_OFFSETS.flags, ExtFlag.TID, true);
  assert.throws(() => decodeOnAnyCoreDumpExt(p), RangeError);
});

Deno.test("encodeOnAnyCoreDumpExt() refuses a tid that is not a u32", () => {
  assert.throws(() => encodeOnAnyCoreDumpExt({ ...BASE, tid: -1 }), RangeError);
});
