import assert from "node:assert/strict";
import {
  computeBacktrace,
  formatReport,
  innermostNamedFrame,
  MAX_NAME_LENGTH,
  parseEuStack,
  type ToolResult,
  type ToolRunner,
} from "../../lib/report/backtrace.ts";

// Recorded from real cores of tests/fixtures/mt_crasher.c (pid 19879, worker 19880):
// eu-stack -a -m -b -n 64 --core=CORE [--executable=EXE].
const dir = new URL("../fixtures/report/", import.meta.url);
const SYMBOLS = await Deno.readTextFile(new URL("eu_stack_symbols.txt", dir));
const STRIPPED = await Deno.readTextFile(new URL("eu_stack_stripped.txt", dir));
const EXE_GONE = await Deno.readTextFile(new URL("eu_stack_exe_gone.txt", dir));
const EXE_GONE_ERR = await Deno.readTextFile(new URL("eu_stack_exe_gone.stderr", dir));

/** A runner that replays recorded output and remembers its arguments. */
function replay(result: Partial<ToolResult>): ToolRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = (program: string, args: string[]) => {
    calls.push([program, ...args]);
    return Promise.resolve({
      stdout: "",
      stderr: "",
      code: 0,
      timedOut: false,
      truncated: false,
      ...result,
    });
  };
  return Object.assign(run, { calls });
}

/** A core file that exists (computeBacktrace checks it before running the tool). */
async function fakeCore(): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "report-test-core-" });
  return path;
}

Deno.test("parseEuStack() reads every thread's frames: pc, function, module offset and module", () => {
  const threads = parseEuStack(SYMBOLS);
  assert.deepEqual(threads.map((t) => t.tid), [19880, 19879]);
  assert.deepEqual(threads[0].frames, [
    { pc: "0x557d260151ad", function: "crash_in_worker", module: "mt_crasher", offset: "0x11ad" },
    { pc: "0x557d26015241", function: "worker", module: "mt_crasher", offset: "0x1240" },
    { pc: "0x7f895cfff1f5", function: "start_thread", module: "libc.so.6", offset: "0x891f4" },
    { pc: "0x7f895d07f8ec", function: "__clone3", module: "libc.so.6", offset: "0x1098eb" },
  ]);
  assert.equal(threads[1].frames.length, 6);
  assert.equal(threads[1].frames[4].function, "__libc_start_main@@GLIBC_2.34");
});

Deno.test("parseEuStack() keeps the frames of a stripped module without a function name", () => {
  const [worker] = parseEuStack(STRIPPED);
  assert.deepEqual(worker.frames[0], {
    pc: "0x562a615a11ad",
    module: "mt_stripped",
    offset: "0x11ad",
  });
  assert.equal(worker.frames[2].function, "start_thread");
});

Deno.test("parseEuStack() caps frames and threads, and ignores a line cut by the output bound", () => {
  const capped = parseEuStack(SYMBOLS, { maxFrames: 2, maxThreads: 1 });
  assert.equal(capped.length, 1);
  assert.equal(capped[0].frames.length, 2);
  const cut = SYMBOLS.slice(0, SYMBOLS.indexOf("#1  0x0000557d26015241") + 10);
  const [t] = parseEuStack(cut);
  assert.equal(t.frames.length, 1);
  assert.deepEqual(parseEuStack("garbage\n\n#0 nonsense\n"), []);
  const long = `TID 1:\n#0  0x1     ${"f".repeat(10_000)} - m\n`;
  assert.equal(parseEuStack(long)[0].frames[0].function!.length, MAX_NAME_LENGTH);
});

Deno.test("computeBacktrace() puts the crashing thread first and runs eu-stack without a shell", async () => {
  const core = await fakeCore();
  const exe = Deno.execPath(); // any file that exists
  try {
    const run = replay({ stdout: SYMBOLS });
    const r = await computeBacktrace(core, {
      exe,
      tid: 19879,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      run,
    });
    assert.equal(r.state, "ready");
    assert.equal(r.crashingTid, 19879);
    assert.deepEqual(r.threads.map((t) => t.tid), [19879, 19880]);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(run.calls, [[
      "eu-stack",
      "-a",
      "-m",
      "-b",
      "-n",
      "64",
      `--core=${core}`,
      `--executable=${exe}`,
    ]]);
    const byCore = await computeBacktrace(core, { timeoutMs: 1000, maxBytes: 1 << 20, run });
    assert.equal(byCore.crashingTid, 19880, "without a tid, the core's first thread");
    assert.equal(innermostNamedFrame(byCore)?.function, "crash_in_worker");
  } finally {
    await Deno.remove(core);
  }
});

Deno.test("computeBacktrace() of a stripped executable is partial and says symbols are missing", async () => {
  const core = await fakeCore();
  const dir = await Deno.makeTempDir();
  const exe = `${dir}/mt_stripped`;
  await Deno.writeFile(exe, new Uint8Array(1));
  try {
    const r = await computeBacktrace(core, {
      exe,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      run: replay({ stdout: STRIPPED }),
    });
    assert.equal(r.state, "ready");
    assert.deepEqual(r.missing, [
      `symbols: the executable ${exe} is stripped (no function names in its frames)`,
    ]);
    assert.equal(innermostNamedFrame(r)?.function, "start_thread");
    assert.ok(formatReport(r).includes("  #0   0x562a615a11ad ?? (mt_stripped+0x11ad)"));
  } finally {
    await Deno.remove(core);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("computeBacktrace() of a vanished executable is partial and says it no longer exists", async () => {
  const core = await fakeCore();
  try {
    // Recorded with the executable at /tmp/rep/mt_crasher, moved away; here a path that
    // surely does not exist.
    const gone = (s: string) => s.replaceAll("/tmp/rep/", "/nonexistent/rep/");
    const run = replay({ stdout: gone(EXE_GONE), stderr: gone(EXE_GONE_ERR), code: 1 });
    const r = await computeBacktrace(core, {
      exe: "/nonexistent/rep/mt_crasher",
      tid: 19880,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      run,
    });
    assert.equal(r.state, "ready");
    assert.equal(r.threads[0].frames[0].function, undefined);
    assert.equal(r.threads[0].frames[0].offset, "0x11ad");
    assert.equal(
      r.missing[0],
      "executable: /nonexistent/rep/mt_crasher no longer exists (its frames have no function names)",
    );
    assert.ok(!r.missing.some((m) => m.startsWith("symbols:")), "not said to be stripped");
    assert.ok(!run.calls[0].some((a) => a.startsWith("--executable")), "not passed to eu-stack");
    // eu-stack's complaint is about the main thread (19879): not the crash's business.
    assert.ok(!r.missing.some((m) => m.startsWith("unwind:")), JSON.stringify(r.missing));
    const own = await computeBacktrace(core, {
      tid: 19879,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      run: replay({ stdout: EXE_GONE, stderr: EXE_GONE_ERR, code: 1 }),
    });
    assert.equal(
      own.missing.at(-1),
      "unwind: eu-stack: dwfl_thread_getframes tid 19879 at 0x557d260150d0 in /tmp/rep/mt_crasher: Callback returned failure",
    );
  } finally {
    await Deno.remove(core);
  }
});

Deno.test("computeBacktrace() fails, without throwing, when eu-stack cannot run, times out or finds nothing", async () => {
  const core = await fakeCore();
  const limits = { timeoutMs: 50, maxBytes: 1 << 20 };
  try {
    const missingTool = await computeBacktrace(core, {
      ...limits,
      run: () => Promise.reject(new Deno.errors.NotFound("No such file")),
    });
    assert.equal(missingTool.state, "failed");
    assert.match(missingTool.reason!, /apt-get install elfutils/);
    const slow = await computeBacktrace(core, {
      ...limits,
      tid: 5,
      run: replay({ stdout: SYMBOLS.slice(0, 40), code: null, timedOut: true }),
    });
    assert.deepEqual(
      { state: slow.state, reason: slow.reason, tid: slow.crashingTid },
      { state: "failed", reason: "eu-stack did not finish within 50 ms", tid: 5 },
    );
    const notCore = await computeBacktrace(core, {
      ...limits,
      run: replay({ code: 2, stderr: "eu-stack: cannot read ELF core file: not a core\n" }),
    });
    assert.equal(
      notCore.reason,
      "eu-stack found no frame (exit 2): eu-stack: cannot read ELF core file: not a core",
    );
    const noCore = await computeBacktrace("/nonexistent/core", { ...limits, run: replay({}) });
    assert.match(noCore.reason!, /^cannot read the core \/nonexistent\/core: /);
    assert.match(formatReport(noCore)[0], /^No backtrace: cannot read the core/);
  } finally {
    await Deno.remove(core);
  }
});

Deno.test("computeBacktrace() bounds threads and says what output bound cut", async () => {
  const core = await fakeCore();
  try {
    const r = await computeBacktrace(core, {
      tid: 19879,
      timeoutMs: 1000,
      maxBytes: 100,
      maxThreads: 1,
      run: replay({ stdout: SYMBOLS, code: null, truncated: true }),
    });
    assert.equal(r.state, "ready");
    assert.deepEqual(r.threads.map((t) => t.tid), [19879]);
    assert.deepEqual(r.missing, [
      "threads: 1 more threads not kept",
      "output: cut at 100 bytes, later threads not read",
    ]);
    const other = await computeBacktrace(core, {
      tid: 4,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      run: replay({ stdout: SYMBOLS }),
    });
    assert.deepEqual(other.missing, ["thread: the crashing thread 4 is not in the core"]);
  } finally {
    await Deno.remove(core);
  }
});

Deno.test("formatReport() prints the crashing thread's backtrace, the others with allThreads", async () => {
  const core = await fakeCore();
  try {
    const r = await computeBacktrace(core, {
      tid: 19880,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      run: replay({ stdout: SYMBOLS }),
    });
    assert.deepEqual(formatReport(r).slice(0, 2), [
      "Backtrace of the crashing thread 19880:",
      "  #0   0x557d260151ad crash_in_worker (mt_crasher+0x11ad)",
    ]);
    assert.equal(formatReport(r).at(-1), "  (1 other threads: --all-threads)");
    assert.ok(formatReport(r, true).includes("Thread 19879:"));
  } finally {
    await Deno.remove(core);
  }
});
