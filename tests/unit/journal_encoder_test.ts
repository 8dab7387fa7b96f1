import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeJournalEntry,
  encodeJournalEntry,
  validFieldName,
} from "../../lib/journal/encoder.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("encodeJournalEntry() writes plain values as NAME=value lines", () => {
  const bytes = encodeJournalEntry([
    ["MESSAGE", "Process 3577 (myapp) of user 1000 dumped core"],
    ["PRIORITY", "5"],
    ["LTTNG_TRIG_TRIGGERS", "web:ok"],
    ["LTTNG_TRIG_TRIGGERS", "db:skipped"],
  ]);
  assert.equal(
    text(bytes),
    "MESSAGE=Process 3577 (myapp) of user 1000 dumped core\nPRIORITY=5\n" +
      "LTTNG_TRIG_TRIGGERS=web:ok\nLTTNG_TRIG_TRIGGERS=db:skipped\n",
  );
});

Deno.test("encodeJournalEntry() writes a value with a newline in the binary-safe form", () => {
  const bytes = encodeJournalEntry([["MESSAGE", "a\nb"]]);
  assert.deepEqual(
    [...bytes],
    [
      ...new TextEncoder().encode("MESSAGE\n"),
      3,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x61,
      0x0a,
      0x62,
      0x0a,
    ],
  );
});

Deno.test("encodeJournalEntry() keeps odd bytes as they are: control bytes, NUL, not UTF-8", () => {
  const raw = new Uint8Array([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x3d]);
  const bytes = encodeJournalEntry([
    ["LTTNG_TRIG_COMM", "evil\u001b[31m"],
    ["LTTNG_TRIG_EXE", raw],
    ["LTTNG_TRIG_HOSTNAME", "h=\u00e9"],
  ]);
  const fields = decodeJournalEntry(bytes);
  assert.deepEqual(fields.map(([n]) => n), [
    "LTTNG_TRIG_COMM",
    "LTTNG_TRIG_EXE",
    "LTTNG_TRIG_HOSTNAME",
  ]);
  assert.equal(text(fields[0][1]), "evil\u001b[31m");
  assert.deepEqual(fields[1][1], raw);
  // "=" and UTF-8 need no binary form: the first "=" ends the name.
  assert.match(text(bytes), /\nLTTNG_TRIG_HOSTNAME=h=\u00e9\n$/);
  const notUtf8 = encodeJournalEntry([["LTTNG_TRIG_EXE", new Uint8Array([0x2f, 0xff])]]);
  assert.equal(text(notUtf8.subarray(0, 15)), "LTTNG_TRIG_EXE\n", "not UTF-8: binary form");
  // The escape byte is never on a NAME=value line.
  assert.doesNotMatch(text(bytes), /LTTNG_TRIG_COMM=/);
});

Deno.test("encodeJournalEntry() refuses a name journald would drop the entry for", () => {
  for (const name of ["", "_PID", "1ABC", "lower", "A-B", "A".repeat(65), "A=B", "A\nB"]) {
    assert.throws(() => encodeJournalEntry([[name, "x"]]), TypeError, JSON.stringify(name));
  }
  assert.ok(validFieldName("A".repeat(64)));
  assert.ok(validFieldName("LTTNG_TRIG_PID"));
});

Deno.test("decodeJournalEntry() rejects a cut or malformed entry", () => {
  const good = encodeJournalEntry([["MESSAGE", "a\nb"]]);
  assert.throws(() => decodeJournalEntry(good.subarray(0, 10)), RangeError);
  assert.throws(() => decodeJournalEntry(good.subarray(0, good.length - 1)), RangeError);
  const bad = good.slice();
  bad[bad.length - 1] = 0x41;
  assert.throws(() => decodeJournalEntry(bad), SyntaxError);
  assert.throws(() => decodeJournalEntry(new TextEncoder().encode("MESSAGE=x")), SyntaxError);
});

Deno.test("encodeJournalEntry() then decodeJournalEntry() gives every value back (property)", () => {
  const name = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,63}$/);
  const value = fc.oneof(fc.string({ unit: "binary" }), fc.uint8Array({ maxLength: 300 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), (fields) => {
      const back = decodeJournalEntry(encodeJournalEntry(fields));
      assert.deepEqual(
        back,
        fields.map(([n, v]) => [n, typeof v === "string" ? new TextEncoder().encode(v) : v]),
      );
    }),
  );
});
