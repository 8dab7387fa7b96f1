/**
 * The native libraries' paths are written in the code once (lib/sys/ffi.ts for libc,
 * lib/lttng/ctl_library.ts for liblttng-ctl); deno.json's permission set must grant
 * exactly those (a permission cannot be computed, so this test is what keeps them one
 * fact).
 */
import assert from "node:assert/strict";
import { LIBC_PATHS } from "../../lib/sys/ffi.ts";
import { LIBLTTNG_CTL_PATHS } from "../../lib/lttng/ctl_library.ts";

Deno.test("deno.json's ffi permission is the libraries the code opens, no more", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const granted: string[] = config.permissions["lttng-trig"].ffi;
  assert.deepEqual([...granted].sort(), [...LIBLTTNG_CTL_PATHS, ...LIBC_PATHS].sort());
});
