import assert from "node:assert/strict";
import fc from "fast-check";
import { EXT_STRING_MAX, NotifyExtCommand } from "../../lib/wire/notify_ext.ts";
import {
  CHAIN_RESULT_MAX,
  CHAIN_RESULT_OFFSETS,
  ChainOutcomeCode,
  type ChainResultMessage,
  decodeChainResult,
  encodeChainResult,
} from "../../lib/wire/notify_results.ts";
import { decodeHeader, HEADER_SIZE } from "../../lib/wire/header.ts";

function payloadOf(frame: Uint8Array): Uint8Array {
  const h = decodeHeader(frame);
  assert.equal(h.cmd, NotifyExtCommand.CHAIN_RESULT);
  assert.equal(h.msgSize, frame.byteLength - HEADER_SIZE);
  return frame.subarray(HEADER_SIZE);
}

Deno.test("CHAIN_RESULT offsets follow the C struct, each field aligned to its size", () => {
  const at = CHAIN_RESULT_OFFSETS;
  const fields: [number, number][] = [
    [at.pid, 4],
    [at.outcome, 4],
    [at.code, 4],
    [at.signal, 4],
    [at.bytes, 8],
    [at.durationMs, 4],
    [at.programLen, 2],
    [at.reasonLen, 2],
  ];
  let next = 0;
  for (const [offset, size] of fields) {
    assert.equal(offset, next);
    assert.equal(offset % size, 0);
    next = offset + size;
  }
  assert.equal(next, at.data);
  assert.equal(CHAIN_RESULT_MAX, 32 + 2 * 4096);
});

Deno.test("encodeChainResult() writes each field at its offset, little-endian", () => {
  const p = payloadOf(encodeChainResult({
    pid: 0x01020304,
    outcome: "failed",
    code: 1,
    durationMs: 85,
    bytes: 2 ** 33 + 5,
    program: "/bin/h",
    reason: "exit 1",
  }));
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const at = CHAIN_RESULT_OFFSETS;
  assert.deepEqual([...p.subarray(0, 4)], [4, 3, 2, 1]);
  assert.equal(v.getUint32(at.outcome, true), ChainOutcomeCode.failed);
  assert.equal(v.getInt32(at.code, true), 1);
  assert.equal(v.getUint32(at.signal, true), 0);
  assert.equal(v.getBigUint64(at.bytes, true), 2n ** 33n + 5n);
  assert.equal(v.getUint32(at.durationMs, true), 85);
  assert.equal(v.getUint16(at.programLen, true), 6);
  assert.equal(v.getUint16(at.reasonLen, true), 6);
  assert.equal(new TextDecoder().decode(p.subarray(at.data)), "/bin/hexit 1");
  assert.equal(p.byteLength, 32 + 12);
});

Deno.test("encodeChainResult() sends a signal by number and no exit status as -1", () => {
  const msg: ChainResultMessage = {
    pid: 9,
    outcome: "timeout",
    signal: 9,
    durationMs: 60_000,
    bytes: 0,
    program: "/lib/systemd/systemd-coredump",
    reason: "killed",
  };
  const p = payloadOf(encodeChainResult(msg));
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  assert.equal(v.getInt32(CHAIN_RESULT_OFFSETS.code, true), -1);
  assert.equal(v.getUint32(CHAIN_RESULT_OFFSETS.signal, true), 9);
  assert.deepEqual(decodeChainResult(p), msg);
});

Deno.test("encodeChainResult() refuses a signal number out of 0..64", () => {
  const msg = { pid: 1, outcome: "failed", durationMs: 0, bytes: 0, program: "/h" } as const;
  for (const signal of [-1, 65, 1.5]) {
    assert.throws(() => encodeChainResult({ ...msg, signal }), {
      name: "RangeError",
      message: new RegExp(`signal ${signal} out of 0\\.\\.64`),
    });
  }
});

Deno.test("encodeChainResult() caps its strings without cutting a character", () => {
  const long = "b".repeat(EXT_STRING_MAX - 2) + "€";
  const back = decodeChainResult(payloadOf(encodeChainResult({
    pid: 1,
    outcome: "missing",
    durationMs: 0,
    bytes: 0,
    program: long,
    reason: long,
  })));
  assert.equal(back.program, "b".repeat(EXT_STRING_MAX - 2));
  assert.equal(back.reason, "b".repeat(EXT_STRING_MAX - 2));
});

Deno.test("decodeChainResult() refuses a short payload, wrong lengths, an unknown outcome", () => {
  const p = payloadOf(
    encodeChainResult({ pid: 1, outcome: "ok", code: 0, durationMs: 3, bytes: 9, program: "/h" }),
  ).slice();
  assert.throws(() => decodeChainResult(p.subarray(0, 31)), {
    name: "RangeError",
    message: /expected at least 32 bytes/,
  });
  assert.throws(() => decodeChainResult(p.subarray(0, p.byteLength - 1)), /lengths say/);
  const v = new DataView(p.buffer);
  v.setUint16(CHAIN_RESULT_OFFSETS.reasonLen, EXT_STRING_MAX + 1, true);
  assert.throws(() => decodeChainResult(p), /over 4096/);
  v.setUint16(CHAIN_RESULT_OFFSETS.reasonLen, 0, true);
  v.setUint32(CHAIN_RESULT_OFFSETS.outcome, 4, true);
  assert.throws(() => decodeChainResult(p), /unknown outcome 4/);
  v.setUint32(CHAIN_RESULT_OFFSETS.outcome, 0, true);
  v.setInt32(CHAIN_RESULT_OFFSETS.code, 256, true);
  assert.throws(() => decodeChainResult(p), /exit status 256/);
});

Deno.test("decodeChainResult(encodeChainResult(m)) gives m back", () => {
  const text = (maxLength: number) =>
    fc.string({ unit: "grapheme", maxLength }).filter((s) => !s.includes("\0"));
  fc.assert(fc.property(
    fc.record({
      pid: fc.nat({ max: 0xffff_ffff }),
      outcome: fc.constantFrom("ok", "failed", "timeout", "missing" as const),
      code: fc.option(fc.nat({ max: 255 }), { nil: undefined }),
      signal: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
      durationMs: fc.nat({ max: 0xffff_ffff }),
      bytes: fc.nat(),
      program: text(100),
      reason: fc.option(text(100).filter((s) => s !== ""), { nil: undefined }),
    }, { requiredKeys: ["pid", "outcome", "durationMs", "bytes", "program"] }),
    (m) => {
      const back = decodeChainResult(payloadOf(encodeChainResult(m as ChainResultMessage)));
      const want = Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
      assert.deepEqual(back, want);
    },
  ));
});
