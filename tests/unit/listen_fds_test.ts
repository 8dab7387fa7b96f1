/** Socket activation's environment (sd_listen_fds(3)), read by passedSocketFd(). */
import assert from "node:assert/strict";
import { passedSocketFd } from "../../lib/daemon/listen_fds.ts";

function env(vars: Record<string, string>) {
  return (name: string) => vars[name];
}

Deno.test("passedSocketFd() takes fd 3 only when LISTEN_PID is this process", () => {
  assert.equal(passedSocketFd(env({ LISTEN_PID: "42", LISTEN_FDS: "1" }), 42), 3);
  // Inherited from a parent that was activated: not ours.
  assert.equal(passedSocketFd(env({ LISTEN_PID: "41", LISTEN_FDS: "1" }), 42), undefined);
  assert.equal(passedSocketFd(env({ LISTEN_PID: "42", LISTEN_FDS: "0" }), 42), undefined);
  assert.equal(passedSocketFd(env({ LISTEN_PID: "42", LISTEN_FDS: "x" }), 42), undefined);
  assert.equal(passedSocketFd(env({}), 42), undefined);
});

Deno.test("passedSocketFd() picks the descriptor named coredump among several", () => {
  const vars = { LISTEN_PID: "7", LISTEN_FDS: "2", LISTEN_FDNAMES: "other:coredump" };
  assert.equal(passedSocketFd(env(vars), 7), 4);
  assert.equal(passedSocketFd(env({ ...vars, LISTEN_FDNAMES: "a:b" }), 7), 3);
  assert.equal(passedSocketFd(env({ ...vars, LISTEN_FDS: "1" }), 7), 3);
});
