import assert from "node:assert/strict";
import { runNotifier } from "../../lib/notify/notifier.ts";
import type { FileFacts, NotifierConn, NotifierIo } from "../../lib/notify/notifier_io.ts";
import type { NotifyArgs } from "../../lib/notify/args.ts";
import {
  decodeOnAnyCoreDump,
  encodeNotifyReply,
  type NotifyReply,
  NotifyStatus,
} from "../../lib/wire/notify.ts";
import { decodeHeader } from "../../lib/wire/header.ts";
import { decodeOnAnyCoreDumpExt, NotifyExtCommand } from "../../lib/wire/notify_ext.ts";
import { decodeCoreResult } from "../../lib/wire/notify_results.ts";
import { splitCrashId } from "../../lib/wire/notify_ref.ts";

const ROOT_DIR = "/run/test-lttng";
const ROOT_SOCK = `${ROOT_DIR}/notify-lttng-sessiond`;
const USER_DIR = "/home/alice/.lttng";
const USER_SOCK = `${USER_DIR}/notify-lttng-sessiond`;

function dir(uid: number, mode = 0o40700): FileFacts {
  return { isSocket: false, isDirectory: true, uid, mode, ino: 1 };
}

function sock(uid: number, ino = 100): FileFacts {
  return { isSocket: true, isDirectory: false, uid, mode: 0o140600, ino };
}

function args(overrides: Partial<NotifyArgs> = {}): NotifyArgs {
  return {
    pid: 42,
    uid: 0,
    gid: 0,
    execName: "apache2",
    hostname: "web1",
    warnings: [],
    ...overrides,
  };
}

/** How a scripted connection answers. */
type Script =
  | { reply: NotifyReply; chunk?: number; delay?: Promise<void> }
  | { hang: true }
  | { closeWithoutReply: true }
  | { raw: Uint8Array };

/** An in-memory connection that plays a script and logs what happens to it. */
class FakeConn implements NotifierConn {
  peer?: { pid: number; uid: number };
  written: number[] = [];
  closed = 0;
  #out: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #ready: Promise<void>;
  #closedSignal = Promise.withResolvers<null>();
  #hang = false;
  #chunk = Infinity;
  constructor(readonly path: string, script: Script, readonly log: string[]) {
    this.#ready = Promise.resolve();
    if ("reply" in script) {
      this.#out = encodeNotifyReply(script.reply);
      this.#chunk = script.chunk ?? Infinity;
      if (script.delay) this.#ready = script.delay;
    } else if ("raw" in script) {
      this.#out = script.raw;
    } else if ("hang" in script) {
      this.#hang = true;
    }
  }
  write(p: Uint8Array): Promise<number> {
    // Short writes: the notifier must loop.
    const n = Math.min(p.byteLength, 100);
    this.written.push(...p.subarray(0, n));
    if (this.written.length >= 530) this.log.push(`sent ${this.path}`);
    return Promise.resolve(n);
  }
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#hang) return await this.#closedSignal.promise;
    await this.#ready;
    if (this.closed > 0) return null;
    if (this.#pos >= this.#out.byteLength) return null;
    const n = Math.min(p.byteLength, this.#chunk, this.#out.byteLength - this.#pos);
    p.set(this.#out.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    if (this.#pos === this.#out.byteLength) this.log.push(`replied ${this.path}`);
    return n;
  }
  close(): void {
    this.closed++;
    this.log.push(`closed ${this.path}`);
    this.#closedSignal.resolve(null);
  }
}

interface FakeIoOptions {
  files?: Record<string, FileFacts>;
  scripts?: Record<string, Script>;
  homes?: Record<number, string>;
  /** Called after connect: lets a test swap the file under the path. */
  afterConnect?: (path: string, files: Map<string, FileFacts>) => void;
  /** Makes connect wait for this first. */
  connectDelay?: Promise<void>;
  /** Makes lstat of these paths never resolve. */
  hangingLstat?: string[];
  /** The uid the listener of a path runs as (else the socket file's owner; null: unknown). */
  peers?: Record<string, number | null>;
  /** Free slots of held crashes per uid (else plenty). */
  slots?: Record<number, number>;
}

class FakeIo implements NotifierIo {
  log: string[] = [];
  conns: FakeConn[] = [];
  released = 0;
  files: Map<string, FileFacts>;
  #o: FakeIoOptions;
  constructor(o: FakeIoOptions = {}) {
    this.#o = o;
    this.files = new Map(Object.entries(o.files ?? {}));
  }
  lstat(path: string): Promise<FileFacts | undefined> {
    if (this.#o.hangingLstat?.includes(path)) return new Promise(() => {});
    return Promise.resolve(this.files.get(path));
  }
  async connect(path: string): Promise<NotifierConn> {
    this.log.push(`connect ${path}`);
    if (this.#o.connectDelay) await this.#o.connectDelay;
    const script = this.#o.scripts?.[path];
    if (script === undefined) throw new Error("Connection refused (os error 111)");
    const conn = new FakeConn(path, script, this.log);
    const peer = this.#o.peers?.[path] === undefined
      ? this.files.get(path)?.uid
      : this.#o.peers[path];
    if (peer !== null && peer !== undefined) conn.peer = { pid: 1, uid: peer };
    this.conns.push(conn);
    this.#o.afterConnect?.(path, this.files);
    return conn;
  }
  homeOf(uid: number): Promise<string | undefined> {
    return Promise.resolve(this.#o.homes?.[uid]);
  }
  held = new Map<number, number>();
  holdSlot(_runDir: string, uid: number, cap: number): Promise<(() => void) | undefined> {
    const taken = this.held.get(uid) ?? 0;
    if (taken >= Math.min(cap, this.#o.slots?.[uid] ?? Infinity)) {
      this.log.push(`capped ${uid}`);
      return Promise.resolve(undefined);
    }
    this.held.set(uid, taken + 1);
    this.log.push(`slot ${uid}`);
    return Promise.resolve(() => {
      this.held.set(uid, (this.held.get(uid) ?? 1) - 1);
      this.log.push(`free ${uid}`);
    });
  }
  releaseCore(): void {
    this.released++;
    this.log.push("release");
  }
  dropped = 0;
  dropCore(): void {
    this.dropped++;
    this.log.push("drop");
  }
}

const OK: NotifyReply = { status: NotifyStatus.OK, fired: 1, failed: 0 };

function rootOnly(script: Script = { reply: OK }): FakeIo {
  return new FakeIo({
    files: { [ROOT_DIR]: dir(0, 0o40755), [ROOT_SOCK]: sock(0) },
    scripts: { [ROOT_SOCK]: script },
  });
}

function rootAndUser(
  userFiles: Record<string, FileFacts> = { [USER_DIR]: dir(1000), [USER_SOCK]: sock(1000, 200) },
  extra: Partial<FakeIoOptions> = {},
): FakeIo {
  return new FakeIo({
    files: { [ROOT_DIR]: dir(0, 0o40755), [ROOT_SOCK]: sock(0), ...userFiles },
    scripts: { [ROOT_SOCK]: { reply: OK }, [USER_SOCK]: { reply: { ...OK, fired: 2 } } },
    homes: { 1000: "/home/alice/" },
    ...extra,
  });
}

/** Root's and alice's daemons (uid 1000, home /home/alice), their sockets answering as told. */
function rootAndAlice(
  root: Script,
  user: Script,
  extra: Partial<FakeIoOptions> = {},
): FakeIo {
  return new FakeIo({
    files: {
      [ROOT_DIR]: dir(0),
      [ROOT_SOCK]: sock(0),
      [USER_DIR]: dir(1000),
      [USER_SOCK]: sock(1000),
    },
    scripts: { [ROOT_SOCK]: root, [USER_SOCK]: user },
    homes: { 1000: "/home/alice" },
    ...extra,
  });
}

function delivery(run: Awaited<ReturnType<typeof runNotifier>>, target: "root" | "user") {
  const d = run.deliveries.find((x) => x.target === target);
  assert.ok(d !== undefined, `no ${target} delivery in ${JSON.stringify(run.deliveries)}`);
  return d;
}

Deno.test("runNotifier() delivers the crash to the root daemon and releases the core", async () => {
  const io = rootOnly();
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  assert.deepEqual(run.deliveries, [{
    path: ROOT_SOCK,
    target: "root",
    outcome: "replied",
    status: NotifyStatus.OK,
    fired: 1,
  }]);
  assert.deepEqual(run.failures, []);
  assert.equal(io.released, 1);
  assert.equal(io.conns.length, 1);
  assert.equal(io.conns[0].closed, 1);
  // What was sent is one whole ONANYCOREDUMP frame.
  const sent = Uint8Array.from(io.conns[0].written);
  assert.equal(sent.byteLength, 530);
  assert.deepEqual(decodeHeader(sent), { cmd: 1, msgSize: 522 });
  assert.deepEqual(decodeOnAnyCoreDump(sent.subarray(8)), {
    pid: 42,
    uid: 0,
    gid: 0,
    execName: "apache2",
    hostname: "web1",
  });
});

Deno.test("runNotifier() reads a reply that arrives one byte at a time", async () => {
  const io = rootOnly({
    reply: { status: NotifyStatus.ACTION_FAILED, fired: 3, failed: 1 },
    chunk: 1,
  });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
  const d = delivery(run, "root");
  assert.equal(d.outcome, "replied");
  assert.equal(d.status, NotifyStatus.ACTION_FAILED);
  assert.equal(d.fired, 3);
});

Deno.test("runNotifier() also delivers to the user's ~/.lttng daemon for uid != 0", async () => {
  const io = rootAndUser();
  const run = await runNotifier(args({ uid: 1000, gid: 1000 }), io, { runDir: ROOT_DIR });
  assert.deepEqual(run.failures, []);
  assert.equal(delivery(run, "root").outcome, "replied");
  const user = delivery(run, "user");
  assert.equal(user.path, USER_SOCK);
  assert.equal(user.outcome, "replied");
  assert.equal(user.fired, 2);
  assert.equal(io.conns.length, 2);
  for (const c of io.conns) {
    assert.equal(decodeOnAnyCoreDump(Uint8Array.from(c.written).subarray(8)).uid, 1000);
    assert.equal(c.closed, 1);
  }
  assert.equal(io.released, 1);
});

Deno.test("runNotifier() does not look for a user daemon when root crashed", async () => {
  const io = rootAndUser();
  const run = await runNotifier(args({ uid: 0 }), io, { runDir: ROOT_DIR });
  assert.deepEqual(run.deliveries.map((d) => d.target), ["root"]);
});

Deno.test("runNotifier() does not count an absent user daemon as a failure", async () => {
  const io = rootAndUser({});
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  assert.equal(delivery(run, "user").outcome, "absent");
  assert.deepEqual(run.failures, []);
});

/** What lstat says of a symbolic link (owned by the user). */
const LINK: FileFacts = { isSocket: false, isDirectory: false, uid: 1000, mode: 0o120777, ino: 5 };

Deno.test("runNotifier() refuses a user socket that is a symlink", async () => {
  const io = rootAndUser({ [USER_DIR]: dir(1000), [USER_SOCK]: LINK });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  const user = delivery(run, "user");
  assert.equal(user.outcome, "refused");
  assert.match(user.reason ?? "", /not a socket/);
  assert.deepEqual(io.log.filter((l) => l.startsWith("connect")), [`connect ${ROOT_SOCK}`]);
  assert.ok(run.failures.some((f) => f.includes(USER_SOCK)));
});

Deno.test("runNotifier() refuses a run directory that is a symlink", async () => {
  const io = rootAndUser({ [USER_DIR]: LINK, [USER_SOCK]: sock(1000) });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  assert.equal(delivery(run, "user").outcome, "refused");
  assert.equal(io.conns.length, 1);
});

Deno.test("runNotifier() refuses a socket owned by another uid", async () => {
  const io = rootAndUser({ [USER_DIR]: dir(1000), [USER_SOCK]: sock(1001) });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  const user = delivery(run, "user");
  assert.equal(user.outcome, "refused");
  assert.match(user.reason ?? "", /owned by uid 1001/);
  assert.equal(io.conns.length, 1, "only root was connected");
});

Deno.test("runNotifier() refuses a root socket not owned by root", async () => {
  const io = new FakeIo({
    files: { [ROOT_DIR]: dir(0, 0o40755), [ROOT_SOCK]: sock(1000) },
    scripts: { [ROOT_SOCK]: { reply: OK } },
  });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
  assert.equal(delivery(run, "root").outcome, "refused");
  assert.equal(io.conns.length, 0);
  assert.equal(run.failures.length, 1);
});

Deno.test("runNotifier() refuses a run directory owned by another uid", async () => {
  const io = rootAndUser({ [USER_DIR]: dir(0), [USER_SOCK]: sock(1000) });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  assert.equal(delivery(run, "user").outcome, "refused");
  assert.equal(io.conns.length, 1);
});

Deno.test("runNotifier() refuses a directory writable by others or the group", async () => {
  for (const mode of [0o40777, 0o40702, 0o40720, 0o41777]) {
    const io = rootAndUser({ [USER_DIR]: dir(1000, mode), [USER_SOCK]: sock(1000) });
    const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
    const user = delivery(run, "user");
    assert.equal(user.outcome, "refused", mode.toString(8));
    assert.match(user.reason ?? "", /writable by others/);
    assert.equal(io.conns.length, 1);
  }
});

Deno.test("runNotifier() refuses a socket swapped between the check and the connect", async () => {
  const io = rootAndUser(undefined, {
    afterConnect(path, files) {
      if (path === USER_SOCK) files.set(USER_SOCK, sock(1000, 999));
    },
  });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  const user = delivery(run, "user");
  assert.equal(user.outcome, "refused");
  assert.match(user.reason ?? "", /changed while connecting/);
  const userConn = io.conns.find((c) => c.path === USER_SOCK);
  assert.ok(userConn !== undefined);
  assert.deepEqual(userConn.written, [], "nothing was sent to the swapped socket");
  assert.equal(userConn.closed, 1);
});

Deno.test("runNotifier() refuses a socket that disappeared after the connect", async () => {
  const io = rootAndUser(undefined, {
    afterConnect(path, files) {
      if (path === USER_SOCK) files.delete(USER_SOCK);
    },
  });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  assert.equal(delivery(run, "user").outcome, "refused");
});

Deno.test("runNotifier() ignores a home directory that is not absolute", async () => {
  const io = rootAndUser(undefined, { homes: { 1000: "home/alice" } });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  assert.deepEqual(run.deliveries.map((d) => d.target), ["root"]);
});

Deno.test("runNotifier() waits for the reply before releasing the core", async () => {
  const gate = Promise.withResolvers<void>();
  const io = rootOnly({ reply: OK, delay: gate.promise });
  const running = runNotifier(args(), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  // Let everything up to the read run.
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(io.released, 0, "the core is still held");
  assert.ok(io.log.includes(`sent ${ROOT_SOCK}`), "the notification went first");
  gate.resolve();
  const run = await running;
  assert.equal(delivery(run, "root").outcome, "replied");
  assert.deepEqual(io.log, [
    `connect ${ROOT_SOCK}`,
    `sent ${ROOT_SOCK}`,
    `replied ${ROOT_SOCK}`,
    `closed ${ROOT_SOCK}`,
    "release",
  ]);
});

Deno.test("runNotifier() releases the core once, after every delivery, with two daemons", async () => {
  const io = rootAndUser();
  await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR });
  assert.equal(io.released, 1);
  // Released after both replies; the uid's slot is freed only then.
  assert.deepEqual(io.log.slice(-2), ["release", "free 1000"]);
  assert.equal(io.log.filter((l) => l.startsWith("replied")).length, 2);
});

Deno.test("runNotifier() takes its deadline from a signal, when given one, and releases once", async () => {
  const io = rootOnly({ hang: true });
  const deadline = new AbortController();
  const running = runNotifier(args(), io, {
    runDir: ROOT_DIR,
    timeoutMs: 40,
    signal: deadline.signal,
  });
  // No timer of its own: nothing ends the hold until the signal aborts.
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(io.released, 0);
  deadline.abort();
  const run = await running;
  assert.equal(delivery(run, "root").outcome, "failed");
  assert.equal(io.released, 1);
});

Deno.test("runNotifier() times out on a daemon that never replies, and releases once", async () => {
  const io = rootOnly({ hang: true });
  const started = performance.now();
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR, timeoutMs: 30 });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 25 && elapsed < 2000, `took ${elapsed} ms`);
  const d = delivery(run, "root");
  assert.equal(d.outcome, "failed");
  assert.match(d.reason ?? "", /no reply within 30 ms/);
  assert.equal(io.released, 1);
  assert.equal(io.conns[0].closed, 1);
  assert.equal(io.log.at(-1), "release");
  assert.ok(
    io.log.indexOf(`closed ${ROOT_SOCK}`) < io.log.indexOf("release"),
    "released after the delivery ended",
  );
  assert.ok(run.failures.some((f) => /no reply within 30 ms/.test(f)));
});

Deno.test("runNotifier() times out on one daemon and still takes the other's reply", async () => {
  const io = rootAndUser(undefined, {
    scripts: { [ROOT_SOCK]: { hang: true }, [USER_SOCK]: { reply: OK } },
  });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR, timeoutMs: 30 });
  assert.equal(delivery(run, "root").outcome, "failed");
  assert.equal(delivery(run, "user").outcome, "replied");
  assert.equal(io.released, 1);
});

Deno.test("runNotifier() does not hang on an lstat that never returns", async () => {
  const io = rootAndUser(undefined, { hangingLstat: [USER_DIR] });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR, timeoutMs: 30 });
  assert.equal(delivery(run, "root").outcome, "replied");
  assert.equal(delivery(run, "user").outcome, "failed");
  assert.equal(io.released, 1);
});

Deno.test("runNotifier() closes a connection that opens after the deadline", async () => {
  const gate = Promise.withResolvers<void>();
  const io = rootOnly();
  const slow = new FakeIo({
    files: Object.fromEntries(io.files),
    scripts: { [ROOT_SOCK]: { reply: OK } },
    connectDelay: gate.promise,
  });
  const run = await runNotifier(args(), slow, { runDir: ROOT_DIR, timeoutMs: 20 });
  assert.equal(delivery(run, "root").outcome, "failed");
  assert.equal(slow.released, 1);
  gate.resolve();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(slow.conns.length, 1);
  assert.equal(slow.conns[0].closed, 1, "the late connection is closed");
  assert.deepEqual(slow.conns[0].written, [], "nothing is sent after the core was released");
});

Deno.test("runNotifier() reports no root daemon when the root socket is absent", async () => {
  const io = new FakeIo({ files: { [ROOT_DIR]: dir(0, 0o40755) } });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR, timeoutMs: 1000 });
  assert.equal(delivery(run, "root").outcome, "absent");
  assert.equal(run.failures.length, 1);
  assert.match(run.failures[0], /^no root daemon: /);
  assert.equal(io.released, 1);
  assert.equal(io.conns.length, 0);
});

Deno.test("runNotifier() reports no root daemon when the run directory is absent", async () => {
  const io = new FakeIo();
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
  assert.match(run.failures[0], /^no root daemon: /);
  assert.equal(io.released, 1);
});

Deno.test("runNotifier() reports no root daemon when nobody listens on the socket", async () => {
  const io = new FakeIo({ files: { [ROOT_DIR]: dir(0, 0o40755), [ROOT_SOCK]: sock(0) } });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
  const d = delivery(run, "root");
  assert.equal(d.outcome, "absent");
  assert.match(d.reason ?? "", /cannot connect/);
  assert.match(run.failures[0], /^no root daemon: /);
  assert.equal(io.released, 1);
});

Deno.test("runNotifier() reports a daemon that closes without replying", async () => {
  const io = rootOnly({ closeWithoutReply: true });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
  const d = delivery(run, "root");
  assert.equal(d.outcome, "failed");
  assert.match(d.reason ?? "", /closed without replying/);
  assert.equal(run.failures.length, 1);
});

Deno.test("runNotifier() reports a malformed reply as a failure without throwing", async () => {
  const bad = new Uint8Array([1, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff]);
  for (const raw of [bad, new Uint8Array([1, 2, 3]), new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0])]) {
    const io = rootOnly({ raw });
    const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
    assert.equal(delivery(run, "root").outcome, "failed");
    assert.equal(io.released, 1);
    assert.equal(io.conns[0].closed, 1);
  }
});

Deno.test("runNotifier() reports a daemon whose actions timed out", async () => {
  const io = rootOnly({ reply: { status: NotifyStatus.TIMEOUT, fired: 1, failed: 0 } });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR });
  assert.match(run.failures[0], /did not finish in time/);
});

Deno.test("runNotifier() carries the argument warnings into its failures", async () => {
  const io = rootOnly();
  const run = await runNotifier(args({ warnings: ['bad pid "x"'] }), io, { runDir: ROOT_DIR });
  assert.deepEqual(run.failures, ['bad pid "x"']);
});

Deno.test("runNotifier() sends exec names and hostnames with NUL bytes stripped", async () => {
  const io = rootOnly();
  await runNotifier(args({ execName: "a\0b", hostname: "\0h" }), io, { runDir: ROOT_DIR });
  const msg = decodeOnAnyCoreDump(Uint8Array.from(io.conns[0].written).subarray(8));
  assert.equal(msg.execName, "ab");
  assert.equal(msg.hostname, "h");
});

Deno.test("runNotifier() gives the user's daemon its own short budget", async () => {
  const io = rootAndAlice({ reply: OK }, { hang: true });
  const run = await runNotifier(args({ uid: 1000 }), io, {
    runDir: ROOT_DIR,
    timeoutMs: 5000,
    userHoldMs: 50,
  });
  assert.ok(run.heldMs < 1000, `held ${run.heldMs} ms`);
  const user = run.deliveries.find((d) => d.target === "user")!;
  assert.equal(user.outcome, "failed");
  assert.match(user.reason ?? "", /no reply within 50 ms/);
  assert.equal(run.deliveries.find((d) => d.target === "root")?.outcome, "replied");
  assert.equal(io.released, 1);
  assert.equal(io.held.get(1000), 0, "the slot is freed");
});

Deno.test("runNotifier() past the uid's cap sends without waiting and releases at once", async () => {
  const io = rootAndAlice({ hang: true }, { hang: true }, { slots: { 1000: 0 } });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  assert.equal(run.capped, true);
  assert.ok(run.heldMs < 1000, `held ${run.heldMs} ms`);
  assert.deepEqual(run.deliveries.map((d) => [d.target, d.outcome]).sort(), [
    ["root", "sent"],
    ["user", "sent"],
  ]);
  assert.ok(run.failures.some((f) => f.includes("released at once")), run.failures.join());
  assert.equal(io.released, 0, "the core is not kept, the chained handler not run");
  assert.equal(io.dropped, 1);
  // The daemons learn that it was released at once: the RELEASED flag of the ext frame.
  const root = io.conns.find((c) => c.path === ROOT_SOCK)!;
  const frame = Uint8Array.from(root.written);
  assert.equal(decodeHeader(frame).cmd, NotifyExtCommand.ONANYCOREDUMP_EXT);
  const msg = decodeOnAnyCoreDumpExt(frame.subarray(8));
  assert.equal(msg.released, true);
  assert.equal(msg.uid, 1000);
});

Deno.test("runNotifier() holds the uid's slot until the core is released", async () => {
  const io = rootAndAlice({ reply: OK }, { reply: OK });
  const seen: number[] = [];
  io.releaseCore = () => {
    seen.push(io.held.get(1000) ?? 0);
    io.log.push("release");
  };
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  assert.equal(run.capped, undefined);
  assert.deepEqual(seen, [1], "the slot is still held while the core is kept or chained");
  assert.ok(io.log.indexOf("release") < io.log.indexOf("free 1000"), io.log.join());
  assert.equal(io.held.get(1000), 0, "then freed");
});

Deno.test("runNotifier() frees the slot when keeping the core throws", async () => {
  const io = rootAndAlice({ reply: OK }, { reply: OK });
  io.releaseCore = () => Promise.reject(new Error("disk on fire"));
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  assert.match(run.core?.reason ?? "", /cannot keep the core: disk on fire/);
  assert.equal(io.held.get(1000), 0);
});

Deno.test("runNotifier() takes no slot for root's own crashes", async () => {
  const io = new FakeIo({
    files: { [ROOT_DIR]: dir(0), [ROOT_SOCK]: sock(0) },
    scripts: { [ROOT_SOCK]: { reply: OK } },
    slots: { 0: 0 },
  });
  const run = await runNotifier(args({ uid: 0 }), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  assert.equal(run.capped, undefined);
  assert.deepEqual(run.failures, []);
});

Deno.test("runNotifier() refuses a socket whose listener runs as another uid", async () => {
  const io = rootAndAlice({ reply: OK }, { reply: OK }, { peers: { [USER_SOCK]: 1001 } });
  const run = await runNotifier(args({ uid: 1000 }), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  const user = run.deliveries.find((d) => d.target === "user")!;
  assert.equal(user.outcome, "refused");
  assert.match(user.reason ?? "", /served by uid 1001, not by its owner uid 1000/);
  const conn = io.conns.find((c) => c.path === USER_SOCK)!;
  assert.equal(conn.written.length, 0, "nothing sent to the other uid's listener");
});

Deno.test("runNotifier() refuses a peer whose credentials are unknown, root's included", async () => {
  const io = new FakeIo({
    files: { [ROOT_DIR]: dir(0), [ROOT_SOCK]: sock(0) },
    scripts: { [ROOT_SOCK]: { reply: OK } },
    peers: { [ROOT_SOCK]: null },
  });
  const run = await runNotifier(args(), io, { runDir: ROOT_DIR, timeoutMs: 5000 });
  assert.equal(run.deliveries[0].outcome, "refused");
  assert.match(run.deliveries[0].reason ?? "", /served by an unknown uid/);
});

Deno.test("runNotifier() asks each daemon for the crash's id and names it in the core's fate", async () => {
  const io = rootAndAlice(
    { reply: { ...OK, crashId: 41 } },
    { reply: { ...OK, crashId: 7 } },
  );
  io.releaseCore = () => {
    io.released++;
    return { kept: true, path: "/var/cores/core.x.zst", bytes: 4096 };
  };
  const run = await runNotifier(args({ uid: 1000, gid: 1000, coreDir: "/var/cores" }), io, {
    runDir: ROOT_DIR,
  });
  assert.equal(delivery(run, "root").crashId, 41);
  assert.equal(delivery(run, "user").crashId, 7);
  // The notification asked for the id (the extended form, flag REPLY_ID).
  const sent = Uint8Array.from(io.conns[0].written);
  assert.equal(decodeHeader(sent).cmd, 2);
  assert.equal(decodeOnAnyCoreDumpExt(sent.subarray(8)).replyId, true);
  // Then one CORE_RESULT_OF per daemon, each naming that daemon's own crash.
  const followUps = io.conns.slice(2).map((c) => {
    const frame = Uint8Array.from(c.written);
    const { crashId, rest } = splitCrashId(frame.subarray(8));
    return [c.path, decodeHeader(frame).cmd, crashId, decodeCoreResult(rest).pid];
  }).sort();
  assert.deepEqual(followUps, [[ROOT_SOCK, 5, 41, 42], [USER_SOCK, 5, 7, 42]].sort());
});

Deno.test("runNotifier() without an id from the daemon (an old one) sends the plain CORE_RESULT", async () => {
  const io = rootOnly();
  io.releaseCore = () => ({ kept: false, reason: "why", bytes: 1 });
  const run = await runNotifier(args({ coreDir: "/var/cores" }), io, { runDir: ROOT_DIR });
  assert.equal(delivery(run, "root").crashId, undefined);
  assert.equal(decodeHeader(Uint8Array.from(io.conns[1].written)).cmd, 3);
});

Deno.test("runNotifier() keeps the RFC's message for the RFC's line, when nothing follows it", async () => {
  const io = rootOnly();
  await runNotifier(args(), io, { runDir: ROOT_DIR, followUps: false });
  assert.equal(decodeHeader(Uint8Array.from(io.conns[0].written)).cmd, 1);
  const chained = rootOnly();
  await runNotifier(args(), chained, { runDir: ROOT_DIR, followUps: true });
  assert.equal(decodeHeader(Uint8Array.from(chained.conns[0].written)).cmd, 2);
});
