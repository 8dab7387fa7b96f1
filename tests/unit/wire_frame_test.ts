import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type ByteReader,
  FrameError,
  readFrame,
  type ReadFrameOptions,
  readFull,
  writeAll,
} from "../../lib/wire/frame.ts";
import { encodeOnAnyCoreDump, NotifyCommand, ONANYCOREDUMP_C_SIZE } from "../../lib/wire/notify.ts";
import { encodeHeaderInto } from "../../lib/wire/header.ts";

/**
 * A reader over `bytes` that hands them out in chunks: `chunks[i]` bytes on the i-th read
 * (cycling), never more than the caller's buffer. Counts what it gave.
 */
class ChunkedReader implements ByteReader {
  #bytes: Uint8Array;
  #chunks: number[];
  #i = 0;
  pos = 0;
  reads = 0;
  constructor(bytes: Uint8Array, chunks: number[] = [Number.MAX_SAFE_INTEGER]) {
    this.#bytes = bytes;
    this.#chunks = chunks.length === 0 ? [Number.MAX_SAFE_INTEGER] : chunks;
  }
  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    if (this.pos >= this.#bytes.byteLength) return Promise.resolve(null);
    const chunk = Math.max(1, this.#chunks[this.#i++ % this.#chunks.length]);
    const n = Math.min(p.byteLength, chunk, this.#bytes.byteLength - this.pos);
    p.set(this.#bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return Promise.resolve(n);
  }
}

const NOTIFY_LIMITS: ReadFrameOptions = {
  maxPayload: (cmd) => cmd === NotifyCommand.ONANYCOREDUMP ? ONANYCOREDUMP_C_SIZE : -1,
};

function header(cmd: number, msgSize: number): Uint8Array {
  const h = new Uint8Array(8);
  encodeHeaderInto({ cmd, msgSize }, h, 0);
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

const FRAME = encodeOnAnyCoreDump({
  pid: 42,
  uid: 1000,
  gid: 1000,
  execName: "apache2",
  hostname: "A_HOST_NAME",
});

async function rejectsWithKind(
  p: Promise<unknown>,
  kind: FrameError["kind"],
): Promise<FrameError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof FrameError, `expected a FrameError, got ${caught}`);
  assert.equal(caught.kind, kind);
  assert.equal(caught.name, "FrameError");
  return caught;
}

Deno.test("readFrame() reads a frame handed out one byte per read", async () => {
  const reader = new ChunkedReader(FRAME, [1]);
  const frame = await readFrame(reader, NOTIFY_LIMITS);
  assert.ok(frame !== null);
  assert.deepEqual(frame.header, { cmd: 1, msgSize: 522 });
  assert.deepEqual(frame.payload, FRAME.subarray(8));
  assert.equal(reader.pos, FRAME.byteLength);
});

Deno.test("readFrame() reads a frame whatever the split of the reads", async () => {
  for (const chunks of [[3], [7, 1], [8], [9], [5, 500, 2], [529], [530], [1000]]) {
    const reader = new ChunkedReader(FRAME, chunks);
    const frame = await readFrame(reader, NOTIFY_LIMITS);
    assert.ok(frame !== null, `chunks ${chunks}`);
    assert.deepEqual(frame.payload, FRAME.subarray(8), `chunks ${chunks}`);
  }
});

Deno.test("readFrame() reads back-to-back frames from one read and leaves the rest", async () => {
  const second = header(1, 524);
  const stream = concat(FRAME, second, new Uint8Array(524), FRAME.subarray(0, 3));
  const reader = new ChunkedReader(stream);
  const a = await readFrame(reader, NOTIFY_LIMITS);
  assert.equal(a?.header.msgSize, 522);
  assert.equal(reader.pos, 530, "no byte of the next frame is consumed");
  const b = await readFrame(reader, NOTIFY_LIMITS);
  assert.equal(b?.header.msgSize, 524);
  assert.equal(b?.payload.byteLength, 524);
  await rejectsWithKind(readFrame(reader, NOTIFY_LIMITS), "eof");
});

Deno.test("readFrame() resolves to null at EOF before any byte", async () => {
  assert.equal(await readFrame(new ChunkedReader(new Uint8Array(0)), NOTIFY_LIMITS), null);
});

Deno.test("readFrame() rejects EOF inside the header", async () => {
  for (let n = 1; n < 8; n++) {
    const err = await rejectsWithKind(
      readFrame(new ChunkedReader(FRAME.subarray(0, n), [1]), NOTIFY_LIMITS),
      "eof",
    );
    assert.match(err.message, new RegExp(`after ${n} of 8 header bytes`));
    assert.equal(err.header, undefined);
  }
});

Deno.test("readFrame() rejects EOF inside the payload", async () => {
  for (const n of [8, 9, 100, 529]) {
    const err = await rejectsWithKind(
      readFrame(new ChunkedReader(FRAME.subarray(0, n), [2]), NOTIFY_LIMITS),
      "eof",
    );
    assert.match(err.message, new RegExp(`after ${n - 8} of 522 payload bytes`));
    assert.deepEqual(err.header, { cmd: 1, msgSize: 522 });
  }
});

Deno.test("readFrame() accepts a zero-length payload", async () => {
  const frame = await readFrame(new ChunkedReader(header(1, 0)), NOTIFY_LIMITS);
  assert.deepEqual(frame, { header: { cmd: 1, msgSize: 0 }, payload: new Uint8Array(0) });
});

Deno.test("readFrame() rejects msg_size 2^32-1 before reading the payload", async () => {
  // The stream holds only the header: reading the payload would mean waiting for 4 GiB.
  const reader = new ChunkedReader(concat(header(1, 0xffff_ffff), new Uint8Array(16)));
  const err = await rejectsWithKind(readFrame(reader, NOTIFY_LIMITS), "too-large");
  assert.equal(reader.pos, 8, "not a byte of the payload was read");
  assert.deepEqual(err.header, { cmd: 1, msgSize: 0xffff_ffff });
  assert.match(err.message, /4294967295/);
});

Deno.test("readFrame() rejects msg_size one byte over the command's limit", async () => {
  const reader = new ChunkedReader(concat(header(1, 525), new Uint8Array(525)));
  await rejectsWithKind(readFrame(reader, NOTIFY_LIMITS), "too-large");
  assert.equal(reader.pos, 8);
});

Deno.test("readFrame() rejects an unknown command before reading the payload", async () => {
  const reader = new ChunkedReader(concat(header(99, 4), new Uint8Array(4)));
  const err = await rejectsWithKind(readFrame(reader, NOTIFY_LIMITS), "unknown-command");
  assert.equal(err.header?.cmd, 99);
  assert.equal(reader.pos, 8);
});

Deno.test("readFull() stops at EOF and reports how much it got", async () => {
  const buf = new Uint8Array(10);
  assert.equal(await readFull(new ChunkedReader(new Uint8Array([1, 2, 3]), [1]), buf), 3);
  assert.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
});

Deno.test("writeAll() keeps writing after short writes", async () => {
  const written: number[] = [];
  const writer = {
    write(p: Uint8Array): Promise<number> {
      const n = Math.min(3, p.byteLength);
      written.push(...p.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
  await writeAll(writer, bytes);
  assert.deepEqual(written, [...bytes]);
});

Deno.test("readFrame() never throws anything but FrameError on arbitrary streams", async () => {
  const limits: ReadFrameOptions = {
    maxPayload: (cmd) => cmd === 1 ? 600 : cmd === 2 ? 0 : cmd === 3 ? 65536 : -1,
  };
  // Bias the first bytes towards known commands and small sizes so that every path runs.
  const stream = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(
      fc.constantFrom(0, 1, 2, 3, 4, 0xffff_ffff),
      fc.oneof(fc.integer({ min: 0, max: 700 }), fc.constant(0xffff_ffff)),
      fc.uint8Array({ maxLength: 700 }),
    ).map(([cmd, size, rest]) => concat(header(cmd, size), rest)),
  );
  const chunks = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });
  await fc.assert(
    fc.asyncProperty(stream, chunks, async (bytes, split) => {
      const reader = new ChunkedReader(bytes, split);
      for (let i = 0; i < 4; i++) {
        let frame;
        try {
          frame = await readFrame(reader, limits);
        } catch (err) {
          assert.ok(err instanceof FrameError, `threw ${err}`);
          return;
        }
        if (frame === null) return;
        assert.equal(frame.payload.byteLength, frame.header.msgSize);
        assert.ok(frame.header.msgSize <= limits.maxPayload(frame.header.cmd));
      }
    }),
    { numRuns: 500 },
  );
});
