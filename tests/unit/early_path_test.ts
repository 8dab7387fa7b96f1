import assert from "node:assert/strict";
import { listenEarly } from "../../lib/daemon/early_path.ts";
import { DaemonStartError } from "../../lib/daemon/run_dirs.ts";

const crashes = {
  handleEarly: () => Promise.reject(new Error("no crash expected")),
  forgetEarly: () => {},
};

Deno.test("listenEarly() says a user's daemon has no early path", async () => {
  const why = await listenEarly({
    connector: "off",
    uid: 1000,
    runDir: "/home/u/.lttng",
    crashes,
    log: () => {},
  });
  assert.equal(why, "the connector is for the root daemon only");
});

Deno.test("listenEarly() says why a root daemon on a private run directory has none", async () => {
  const why = await listenEarly({
    connector: "off",
    uid: 0,
    runDir: "/tmp/x",
    crashes,
    log: () => {},
  });
  assert.equal(
    why,
    "off on a run directory other than /var/run/lttng (--connector=auto turns it on)",
  );
});

Deno.test("listenEarly() goes on without the connector under auto, and logs why", async () => {
  const lines: string[] = [];
  const why = await listenEarly({
    connector: "auto",
    uid: 0,
    runDir: "/var/run/lttng",
    pinOps: "libc cannot be loaded",
    crashes,
    log: (l) => lines.push(l),
  });
  assert.equal(why, "libc cannot be loaded");
  assert.deepEqual(lines, [
    "early path off: libc cannot be loaded: crashes are acted on when their helper arrives",
  ]);
});

Deno.test("listenEarly() refuses to start --connector=only without the connector", async () => {
  await assert.rejects(
    listenEarly({
      connector: "only",
      uid: 0,
      runDir: "/var/run/lttng",
      pinOps: "libc cannot be loaded",
      crashes,
      log: () => {},
    }),
    (err: unknown) =>
      err instanceof DaemonStartError &&
      err.message ===
        "libc cannot be loaded: run the daemon as root with CAP_NET_ADMIN, or without --connector=only",
  );
});
