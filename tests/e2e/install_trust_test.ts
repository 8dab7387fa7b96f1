/**
 * `install --exe=` naming a launcher in a checkout a user owns, reached through a
 * root-owned symlink: refused, naming the user's directory and the fix, and the real
 * core_pattern is left as it was (under the lock of tests/fixtures/core_pattern.ts).
 */
import assert from "node:assert/strict";
import { CORE_PATTERN_PATH } from "../../lib/install/kernel_files.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { BUILD_DIR, LAUNCHER } from "../fixtures/paths.ts";
import { requirement } from "../fixtures/require.ts";
import { TempUser } from "../fixtures/rel_user.ts";

const SYSTEMD = "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h";
const skip = Deno.uid() === 0 ? undefined : "install and useradd need root";

Deno.test({
  name: "install refuses a launcher in a checkout a user owns, and leaves core_pattern alone",
  ignore: requirement(skip),
  async fn() {
    await Deno.mkdir(BUILD_DIR, { recursive: true });
    // A root-owned 0755 place.
    const base = await Deno.makeTempDir({ dir: BUILD_DIR, prefix: "trust-" });
    await Deno.chmod(base, 0o755);
    try {
      await using user = await TempUser.create(base);
      const checkout = `${user.home}/lttng-trig`;
      await Deno.mkdir(`${checkout}/bin`, { recursive: true });
      await Deno.copyFile(LAUNCHER, `${checkout}/bin/lttng-trig`);
      await Deno.chmod(`${checkout}/bin/lttng-trig`, 0o755);
      for (const p of [checkout, `${checkout}/bin`, `${checkout}/bin/lttng-trig`]) {
        await Deno.chown(p, user.uid, user.gid);
      }
      const link = `${base}/lttng-trig`;
      await Deno.symlink(`${checkout}/bin/lttng-trig`, link);

      await using _guard = await CorePatternGuard.set(SYSTEMD);
      const before = await Deno.readTextFile(CORE_PATTERN_PATH);
      const r = await runLauncher(
        ["install", "--force", `--exe=${link}`, `--state-dir=${base}/state`],
        { timeoutMs: 30_000 },
      );
      const shown = `exit ${r.code}\n${r.stdout}${r.stderr}`;
      assert.equal(r.code, 1, shown);
      assert.match(r.stderr, new RegExp(`^Error: cannot name ${link} in core_pattern: `), shown);
      // Named by its real path: BUILD_DIR goes through the .tools link.
      const home = await Deno.realPath(user.home);
      assert.match(r.stderr, new RegExp(`${home} \\(owned by uid ${user.uid}\\)`), shown);
      assert.match(r.stderr, /chown -R root: \S+ && chmod -R go-w /, shown);
      assert.equal(await Deno.readTextFile(CORE_PATTERN_PATH), before);
      assert.equal(before, `${SYSTEMD}\n`);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
