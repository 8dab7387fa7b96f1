/**
 * runChain() feeds the core for as long as anyone reads it, as the kernel does: a handler
 * may hand its stdin on and exit (systemd-coredump passes the pipe to its service).
 */
import assert from "node:assert/strict";
import { runChain } from "../../lib/notify/chain.ts";
import type { ChainState } from "../../lib/core/notifier_config.ts";
import { waitFor } from "../fixtures/wait.ts";

const CORE_BYTES = 1 << 20;

function core(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= CORE_BYTES) return c.close();
      c.enqueue(new Uint8Array(64 * 1024).fill(7));
      sent += 64 * 1024;
    },
  });
}

// A non-interactive sh gives a background job /dev/null for stdin: the pipe is handed on
// as fd 3 first.
async function script(dir: string, body: string): Promise<ChainState> {
  const path = `${dir}/h`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
  return { command: path, program: path } as ChainState;
}

Deno.test("runChain() writes the whole core to a reader the handler handed its stdin to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const chain = await script(dir, `exec 3<&0\n(sleep 0.3; cat <&3 > ${dir}/out) &\nexit 0`);
    const r = await runChain(chain, {}, core(), { timeoutMs: 10_000 });
    assert.equal(r.chain.outcome, "ok", JSON.stringify(r.chain));
    assert.equal(r.chain.code, 0);
    assert.equal(r.chain.bytes, CORE_BYTES);
    assert.ok(r.chain.durationMs >= 250, JSON.stringify(r.chain));
    const out = await waitFor(async () => {
      const st = await Deno.stat(`${dir}/out`).catch(() => undefined);
      return st?.size === CORE_BYTES ? st : undefined;
    });
    assert.equal(out.size, CORE_BYTES);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runChain() stops at once when the handler exits and nobody reads the core", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runChain(await script(dir, "exit 0"), {}, core(), { timeoutMs: 10_000 });
    assert.equal(r.chain.outcome, "ok", JSON.stringify(r.chain));
    assert.ok(r.chain.durationMs < 5000, JSON.stringify(r.chain));
    assert.ok(r.chain.bytes < CORE_BYTES, JSON.stringify(r.chain));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runChain() releases at the deadline a core that a handed-on reader never reads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const chain = await script(dir, `exec 3<&0\nsleep 30 <&3 &\necho $! > ${dir}/pid\nexit 0`);
    const r = await runChain(chain, {}, core(), { timeoutMs: 500 });
    const pid = Number((await Deno.readTextFile(`${dir}/pid`)).trim());
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
    assert.equal(r.chain.outcome, "timeout", JSON.stringify(r.chain));
    assert.equal(r.chain.code, 0);
    assert.match(r.chain.reason ?? "", /still being read .* after 500 ms/);
    assert.ok(r.chain.durationMs >= 450 && r.chain.durationMs < 5000, JSON.stringify(r.chain));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
