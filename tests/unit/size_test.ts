/**
 * The one size grammar (lib/core/size.ts) and its two readers: the command line's
 * `--max-size` and `--snapshots-*` (positive bytes, no `%`), and the core limits file
 * (bytes, or a share of the filesystem).
 */
import assert from "node:assert/strict";
import { parseByteSize } from "../../lib/core/size.ts";
import { parseSizeOption } from "../../lib/cli/common.ts";
import { parseLimitSize } from "../../lib/notify/core_vacuum.ts";

const K = 1024;

Deno.test("parseByteSize() reads bytes, K/M/G/T as powers of 1024 in any case, and percentages", () => {
  const cases: [string, ReturnType<typeof parseByteSize>][] = [
    ["4096", { bytes: 4096 }],
    ["0", { bytes: 0 }],
    ["512k", { bytes: 512 * K }],
    ["512K", { bytes: 512 * K }],
    ["64m", { bytes: 64 * K ** 2 }],
    ["64M", { bytes: 64 * K ** 2 }],
    ["1G", { bytes: K ** 3 }],
    ["2t", { bytes: 2 * K ** 4 }],
    ["1.5K", { bytes: 1536 }],
    ["0.5", { bytes: 0 }],
    ["64 M", { bytes: 64 * K ** 2 }],
    ["10%", { percent: 10 }],
    ["12.5%", { percent: 12.5 }],
    ["lots", undefined],
    ["", undefined],
    ["-1", undefined],
    ["1KB", undefined],
    ["1P", undefined],
    [" 1M", undefined],
    ["1M ", undefined],
    [".5M", undefined],
    ["1e3", undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseByteSize(text), want, text);
});

Deno.test("parseSizeOption() takes a positive size and names the option when it is not one", () => {
  assert.equal(parseSizeOption("64M", "--max-size", "u"), 64 * K ** 2);
  assert.equal(parseSizeOption("1t", "--max-size", "u"), K ** 4);
  for (const text of ["0", "0.5", "10%", "lots", "-1", "99999999999T"]) {
    assert.throws(
      () => parseSizeOption(text, "--max-size", "u"),
      new RegExp(
        `^UsageError: invalid --max-size "${
          text.replace(/[.%]/g, "\\$&")
        }": expected a positive size such as 4096, 512k, 64M or 1G$`,
      ),
      text,
    );
  }
});

Deno.test("parseLimitSize() reads the same grammar, a percentage of the filesystem, and numbers", () => {
  assert.equal(parseLimitSize("512M", 0, "maxUse"), 512 * K ** 2);
  assert.equal(parseLimitSize("10%", 1000, "maxUse"), 100);
  assert.equal(parseLimitSize(4096, 0, "maxUse"), 4096);
  assert.equal(parseLimitSize("0", 0, "keepFree"), 0);
  assert.throws(
    () => parseLimitSize("101%", 1000, "maxUse"),
    /^RangeError: Cannot use maxUse "101%": over 100%$/,
  );
  assert.throws(
    () => parseLimitSize("lots", 0, "maxCore"),
    /^TypeError: Cannot use maxCore "lots": expected bytes, or a size such as "512M" or "10%"$/,
  );
  assert.throws(() => parseLimitSize(-1, 0, "maxUse"), /Cannot use maxUse -1/);
});
