/**
 * lttng-sessiond left waiting on a crashed process: the parsing of `/proc` and
 * `getdents64` (lib/sys/socket_waits.ts) and when the daemon looks
 * (lib/daemon/sessiond_waits.ts). The real thing, a traced program crashing during its
 * registration with a real lttng-sessiond, is bench/sessiond_waits.ts.
 */
import assert from "node:assert/strict";
import {
  blockedReadFd,
  parseDirents,
  parseUnixDiagPeer,
  socketInode,
  unixDiagRequest,
} from "../../lib/sys/socket_waits.ts";
import { SessiondWaits } from "../../lib/daemon/sessiond_waits.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";

const X86_READS = new Set([0, 45, 47]);

Deno.test("blockedReadFd reads the fd of a thread blocked in a read, and nothing else", () => {
  const cases: [string, number | undefined][] = [
    ["47 0x54 0x7ff50c0012c0 0x0 0x0 0x0 0x0 0x7ffd 0x7ff5", 0x54], // recvmsg
    ["0 0x3 0x7ff0 0x1000 0x0 0x0 0x0 0x7ffd 0x7ff5", 3], // read
    ["45 0x1f 0x7ff0 0x10 0x0 0x0 0x0 0x7ffd 0x7ff5\n", 0x1f], // recvfrom
    ["232 0x22 0x7feec0004ec0 0x1 0xffffffff 0x0 0x0 0x7ffd 0x7ff5", undefined], // epoll_wait
    ["202 0x5634d64df040 0x80 0x0 0x0 0x0 0x0 0x7ffd 0x7ff5", undefined], // futex
    ["running", undefined],
    ["-1 0x7ffd 0x7ff5", undefined], // blocked, not in a call
    ["47", undefined],
    ["47 84", undefined], // not hex
    ["47 0x123456789", undefined], // wider than an fd
    ["", undefined],
  ];
  for (const [text, fd] of cases) assert.equal(blockedReadFd(text, X86_READS), fd, text);
});

/** A `struct linux_dirent64` record: u64 inode, s64 offset, u16 length, u8 type, name. */
function dirent(name: string, pad = 0): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  const len = Math.ceil((19 + bytes.length + 1) / 8) * 8 + pad;
  const rec = new Uint8Array(len);
  new DataView(rec.buffer).setUint16(16, len, true);
  rec.set(bytes, 19);
  return rec;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

Deno.test("parseDirents reads every whole record and stops at one that does not fit", () => {
  const cases: [string, Uint8Array, string[]][] = [
    ["three records", concat(dirent("."), dirent(".."), dirent("14021")), [".", "..", "14021"]],
    ["padded record", concat(dirent("14024", 8), dirent("14025")), ["14024", "14025"]],
    ["empty", new Uint8Array(0), []],
    ["cut short", concat(dirent("14021"), dirent("14022").subarray(0, 20)), ["14021"]],
    [
      "length past the end",
      (() => {
        const r = dirent("14021");
        new DataView(r.buffer).setUint16(16, 200, true);
        return r;
      })(),
      [],
    ],
    [
      "length too small to move on",
      (() => {
        const r = dirent("14021");
        new DataView(r.buffer).setUint16(16, 3, true);
        return r;
      })(),
      [],
    ],
  ];
  for (const [what, buf, names] of cases) assert.deepEqual(parseDirents(buf), names, what);
});

Deno.test("socketInode reads a socket's /proc fd link, and nothing else", () => {
  const cases: [string | undefined, number | undefined][] = [
    ["socket:[105765]", 105765],
    ["socket:[0]", 0],
    ["pipe:[105765]", undefined],
    ["/dev/null", undefined],
    ["socket:[12345678901]", undefined], // past 32 bits
    ["socket:[105765] ", undefined],
    [undefined, undefined],
  ];
  for (const [link, ino] of cases) assert.equal(socketInode(link), ino, String(link));
});

Deno.test("unixDiagRequest asks sock_diag for one unix socket and its peer", () => {
  const req = unixDiagRequest(105765);
  const v = new DataView(req.buffer);
  assert.equal(req.length, 40);
  assert.deepEqual(
    [v.getUint32(0, true), v.getUint16(4, true), v.getUint16(6, true), req[16]],
    [40, 20, 1, 1], // length, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, AF_UNIX
  );
  assert.deepEqual(
    [v.getUint32(20, true), v.getUint32(24, true), v.getUint32(28, true)],
    [0xffff_ffff, 105765, 4], // any state, the inode, UDIAG_SHOW_PEER
  );
  assert.deepEqual([v.getUint32(32, true), v.getUint32(36, true)], [0xffff_ffff, 0xffff_ffff]);
});

/** A sock_diag reply: header, unix_diag_msg for `ino`, then `attrs` ([type, u32 value]). */
function diagReply(
  ino: number,
  attrs: [number, number][],
  o: { type?: number; len?: number } = {},
) {
  const buf = new Uint8Array(32 + attrs.length * 8);
  const v = new DataView(buf.buffer);
  v.setUint32(0, o.len ?? buf.length, true);
  v.setUint16(4, o.type ?? 20, true);
  buf[16] = 1;
  v.setUint32(20, ino, true);
  attrs.forEach(([type, value], i) => {
    v.setUint16(32 + i * 8, 8, true);
    v.setUint16(34 + i * 8, type, true);
    v.setUint32(36 + i * 8, value, true);
  });
  return buf;
}

Deno.test("parseUnixDiagPeer finds the peer attribute, bounds-checked", () => {
  const cases: [string, Uint8Array, number | undefined][] = [
    ["peer after another attribute", diagReply(7, [[4, 0], [2, 105762]]), 105762],
    ["peer first", diagReply(7, [[2, 9]]), 9],
    ["no peer", diagReply(7, [[4, 0]]), undefined],
    ["another socket", diagReply(8, [[2, 9]]), undefined],
    ["an error message", diagReply(7, [[2, 9]], { type: 2 }), undefined],
    ["length past the buffer", diagReply(7, [[2, 9]], { len: 400 }), undefined],
    ["cut short", diagReply(7, [[2, 9]]).subarray(0, 30), undefined],
  ];
  for (const [what, buf, peer] of cases) assert.equal(parseUnixDiagPeer(buf, 7), peer, what);
});

const crash = (pid: number, globalPid?: number) =>
  ({ pid, ...(globalPid === undefined ? {} : { globalPid }) }) as CrashFacts;

Deno.test("SessiondWaits looks at once for lttng-sessiond's waits on the crashed process, logs each ended wait, and stops looking when the action is done", async () => {
  const calls: { waiter: number; comm: string; peer: number }[] = [];
  const lines: string[] = [];
  const waits = new SessiondWaits({
    pidFile: "/run/x/lttng-sessiond.pid",
    readFile: (path) => (assert.equal(path, "/run/x/lttng-sessiond.pid"), "4242\n"),
    isDead: () => true,
    end: (o) => {
      calls.push({ waiter: o.waiter, comm: o.comm, peer: o.peer });
      return { ended: calls.length === 1 ? [{ tid: 4250, fd: 84, how: "answer" as const }] : [] };
    },
    log: (l) => lines.push(l),
  });
  const done = Promise.withResolvers<void>();
  waits.watch(crash(17, 9001), done.promise);
  assert.deepEqual(calls, [{ waiter: 4242, comm: "lttng-sessiond", peer: 9001 }]);
  assert.equal(waits.ended, 1);
  assert.match(lines[0], /pid 4242, thread 4250\) was waiting on crashed pid 9001,/);
  assert.match(lines[0], /answered in its place/);
  done.resolve();
  await done.promise;
  await Promise.resolve();
  // Its later looks (1 ms to 1 s) are cancelled: the test's op sanitizer fails on a
  // timer left pending.
  assert.equal(calls.length, 1);
});

Deno.test("SessiondWaits does nothing without a session daemon or for a process not dumping core, and says once why it cannot look", async () => {
  const lines: string[] = [];
  let ends = 0;
  const none = new SessiondWaits({
    pidFile: "/nonexistent/lttng-sessiond.pid",
    readFile: () => {
      throw new Deno.errors.NotFound("no file");
    },
    end: () => (ends++, { ended: [] }),
    log: (l) => lines.push(l),
  });
  none.watch(crash(5), Promise.resolve());
  assert.equal(ends, 0);
  const released = new SessiondWaits({
    pidFile: "p",
    readFile: () => "77",
    isDead: () => false,
    end: () => (ends++, { ended: [] }),
    log: (l) => lines.push(l),
  });
  released.watch(crash(5), Promise.resolve());
  assert.equal(ends, 0);
  const refused = new SessiondWaits({
    pidFile: "p",
    readFile: () => "77",
    isDead: () => true,
    end: () => "cannot take fd 84 of pid 77: errno 1",
    log: (l) => lines.push(l),
  });
  refused.watch(crash(5), Promise.resolve());
  refused.watch(crash(6), Promise.resolve());
  assert.deepEqual(lines, [
    "lttng-sessiond's waits on crashed processes cannot be looked at: cannot take fd 84 of pid 77: errno 1",
  ]);
  await Promise.resolve();
});
