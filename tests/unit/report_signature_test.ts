import assert from "node:assert/strict";
import {
  crashSignature,
  signatureOf,
  signatureText,
  type SignedCrash,
} from "../../lib/report/signature.ts";
import type { Frame } from "../../lib/protocol/records.ts";

// One code path (crash_in_worker called from worker, in a thread started by libc), as
// eu-stack prints it for two runs: ASLR put the executable and libc elsewhere each time.
const RUN_A: Frame[] = [
  { pc: "0x5581d2e011ad", function: "crash_in_worker", offset: "0x11ad", module: "mt_crasher" },
  { pc: "0x5581d2e0126f", function: "worker", offset: "0x126e", module: "mt_crasher" },
  { pc: "0x7f0c6e2a8134", function: "start_thread", offset: "0x89133", module: "libc.so.6" },
  { pc: "0x7f0c6e3287dc", function: "__clone3", offset: "0x1097db", module: "libc.so.6" },
];
const RUN_B: Frame[] = [
  { pc: "0x563a0c9f51ad", function: "crash_in_worker", offset: "0x11ad", module: "mt_crasher" },
  { pc: "0x563a0c9f526f", function: "worker", offset: "0x126e", module: "mt_crasher" },
  { pc: "0x7fa41e0a8134", function: "start_thread", offset: "0x89133", module: "libc.so.6" },
  { pc: "0x7fa41e1287dc", function: "__clone3", offset: "0x1097db", module: "libc.so.6" },
];

Deno.test("crashSignature() is the same for one code path at other addresses (ASLR)", () => {
  const a = crashSignature({ execName: "mt_crasher", frames: RUN_A });
  const b = crashSignature({ execName: "mt_crasher", frames: RUN_B });
  assert.equal(a, b);
  assert.match(a, /^[0-9a-f]{32}$/);
});

Deno.test("crashSignature() ignores offsets: a rebuilt program keeps its signature", () => {
  const moved = RUN_A.map((f) => ({ ...f, offset: "0x9999" }));
  assert.equal(
    crashSignature({ execName: "mt_crasher", frames: moved }),
    crashSignature({ execName: "mt_crasher", frames: RUN_A }),
  );
});

Deno.test("crashSignature() differs for a crash at another site", () => {
  const elsewhere: Frame[] = [
    { pc: "0x5581d2e011f0", function: "crash_elsewhere", offset: "0x11f0", module: "mt_crasher" },
    ...RUN_A.slice(1),
  ];
  assert.notEqual(
    crashSignature({ execName: "mt_crasher", frames: elsewhere }),
    crashSignature({ execName: "mt_crasher", frames: RUN_A }),
  );
  // The same function name in another module is another site.
  const otherModule = RUN_A.map((f, i) => i === 0 ? { ...f, module: "other" } : f);
  assert.notEqual(
    crashSignature({ execName: "mt_crasher", frames: otherModule }),
    crashSignature({ execName: "mt_crasher", frames: RUN_A }),
  );
});

Deno.test("signatureText() keeps the three innermost named frames, no address", () => {
  assert.equal(
    signatureText({ execName: "mt_crasher", frames: RUN_A }),
    'frame "mt_crasher" "crash_in_worker"\nframe "mt_crasher" "worker"\n' +
      'frame "libc.so.6" "start_thread"\n',
  );
});

Deno.test("signatureText() skips unnamed frames and libc's abort path", () => {
  const aborted: Frame[] = [
    { pc: "0x7f01", function: "__pthread_kill_implementation", module: "libc.so.6" },
    { pc: "0x7f02", function: "raise", module: "libc.so.6" },
    { pc: "0x7f03", function: "abort", module: "libc.so.6" },
    { pc: "0x5501", offset: "0x1234", module: "app" },
    { pc: "0x5502", function: "check_input", module: "app" },
    { pc: "0x5503", function: "main", module: "app" },
  ];
  assert.equal(
    signatureText({ execName: "app", frames: aborted }),
    'frame "app" "check_input"\nframe "app" "main"\n',
  );
});

Deno.test("signatureText() falls back to the signal and the executable when no frame is named", () => {
  const stripped: Frame[] = [
    { pc: "0x5581d2e011ad", offset: "0x11ad", module: "mt_stripped" },
    { pc: "0x5581d2e0126f", offset: "0x126e", module: "mt_stripped" },
  ];
  const input = {
    execName: "mt_stripped",
    exePath: "/opt/app/mt_stripped",
    signalName: "SIGSEGV",
    frames: stripped,
  };
  assert.equal(signatureText(input), 'signal SIGSEGV\nexe "/opt/app/mt_stripped"\n');
  assert.equal(
    signatureText({ execName: "myapp" }),
    'signal ?\nexe "myapp"\n',
    "no path: the exec name",
  );
  assert.notEqual(
    crashSignature({ ...input, signalName: "SIGABRT" }),
    crashSignature(input),
  );
});

Deno.test("signatureText() takes names with odd bytes as data: no name forges a frame", () => {
  const odd: Frame[] = [{ pc: "0x1", function: 'f"\nframe "x" "y', module: "m\u0001" }];
  const text = signatureText({ execName: "x", frames: odd });
  assert.equal(text, 'frame "m\\u0001" "f\\"\\nframe \\"x\\" \\"y"\n');
  const two: Frame[] = [
    { pc: "0x1", function: "f", module: "m\u0001" },
    { pc: "0x2", function: "y", module: "x" },
  ];
  assert.notEqual(
    crashSignature({ execName: "x", frames: odd }),
    crashSignature({ execName: "x", frames: two }),
  );
});

Deno.test("signatureOf() waits for a pending report and signs a ready one by its frames", () => {
  const base: SignedCrash = { execName: "mt_crasher", exePath: "/t/mt_crasher", signal: 11 };
  const bySignal = signatureOf(base);
  assert.equal(bySignal, crashSignature({ ...base, signalName: "SIGSEGV" }));
  assert.equal(signatureOf({ ...base, report: { state: "pending" } }), undefined);
  assert.equal(
    signatureOf({ ...base, report: { state: "failed" } }),
    bySignal,
    "a failed report: the signal and the executable",
  );
  const ready = signatureOf({
    ...base,
    report: {
      state: "ready",
      crashingTid: 8,
      threads: [{ tid: 7, frames: [RUN_B[3]] }, { tid: 8, frames: RUN_B }],
    },
  });
  assert.equal(
    ready,
    crashSignature({ execName: "other", frames: RUN_A }),
    "the crashing thread's",
  );
});
