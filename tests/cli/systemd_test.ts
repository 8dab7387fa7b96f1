/**
 * The systemd units of dist/systemd: `systemd-analyze verify` finds nothing to say, their
 * hardening is what docs/SHIPPING.md explains, and the daemon works inside it (emulated:
 * the machines running the tests do not boot with systemd).
 */
import assert from "node:assert/strict";
import { LAUNCHER, ROOT } from "../fixtures/paths.ts";
import { awaitListening } from "../fixtures/daemon.ts";
import {
  addTrigger,
  assertExit,
  cli,
  client,
  makeDirs,
  notifyArgs,
  show,
  uniqueSession,
} from "./_helpers.ts";
import { requirement } from "../fixtures/require.ts";

const UNIT_DIR = `${ROOT}/dist/systemd`;
const SYSTEM_UNIT = "lttng-trig.service";
const USER_UNIT = "lttng-trig-user.service";
const INSTALL_UNIT = "lttng-trig-install.service";
const EXEC_START = "ExecStart=/usr/bin/lttng-trig daemon";

/** The absolute path of `command` on PATH, if it is there. */
function which(command: string): string | undefined {
  const path = Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  for (const dir of path.split(":")) {
    try {
      const st = Deno.statSync(`${dir}/${command}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return `${dir}/${command}`;
    } catch { /* not here */ }
  }
  return undefined;
}

const ANALYZE = which("systemd-analyze");
const ANALYZE_MISSING = ANALYZE === undefined
  ? "systemd-analyze is not installed: apt-get install systemd, or run scripts/setup.sh"
  : undefined;
const NO_ANALYZE = ANALYZE_MISSING === undefined ? "" : ` (skipped: ${ANALYZE_MISSING})`;

/** A unit file as key → values (a key may repeat), with its section. */
function parseUnit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s !== null) {
      section = s[1];
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    keys.set(key, [...keys.get(key) ?? [], line.slice(eq + 1)]);
  }
  return keys;
}

/**
 * A copy of unit `name` in a temporary directory, with its Exec lines pointing at this
 * repository's bin/lttng-trig: verify checks that the programs exist, and
 * /usr/bin/lttng-trig need not (a test must not install it).
 */
async function unitCopy(name: string, edit: (text: string) => string = (t) => t) {
  const text = await Deno.readTextFile(`${UNIT_DIR}/${name}`);
  if (name !== INSTALL_UNIT) {
    assert.ok(text.includes(`\n${EXEC_START}\n`), `${name} does not say ${EXEC_START}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-systemd-test-" });
  const file = `${dir}/${name}`;
  const local = text.replace(
    /^(Exec[A-Za-z]*=[-+@!:]*)\/usr\/bin\/lttng-trig /gm,
    `$1${LAUNCHER} `,
  );
  assert.doesNotMatch(local, /^Exec[A-Za-z]*=[-+@!:]*\/usr\/bin\/lttng-trig/m);
  await Deno.writeTextFile(file, edit(local));
  return {
    file,
    dir,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** `systemd-analyze [--user] ARGS...`; everything it printed, and its exit code. */
async function analyze(args: string[], user: boolean, runtimeDir: string) {
  const out = await new Deno.Command(ANALYZE!, {
    args: [...(user ? ["--user"] : []), ...args],
    // A user manager needs a runtime directory; there is none without a login session.
    env: user ? { XDG_RUNTIME_DIR: runtimeDir } : {},
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** Verify a copy of unit `name`: `--man=no` since a minimal system may have no man pages. */
async function verify(name: string, edit?: (text: string) => string) {
  await using copy = await unitCopy(name, edit);
  await Deno.chmod(copy.dir, 0o700);
  return await analyze(["verify", "--man=no", copy.file], name === USER_UNIT, copy.dir);
}

for (const name of [SYSTEM_UNIT, USER_UNIT, INSTALL_UNIT]) {
  Deno.test({
    name: `${name} passes systemd-analyze verify without a warning${NO_ANALYZE}`,
    ignore: requirement(ANALYZE_MISSING),
    fn: async () => {
      const r = await verify(name);
      assert.equal(r.code, 0, r.text);
      // Warnings (an unknown key, a bad value) do not change the exit code: none at all.
      assert.equal(r.text, "", `systemd-analyze verify printed:\n${r.text}`);
    },
  });
}

Deno.test({
  name: `systemd-analyze verify does see mistakes in the unit${NO_ANALYZE}`,
  ignore: requirement(ANALYZE_MISSING),
  fn: async () => {
    const unknown = await verify(SYSTEM_UNIT, (t) => t.replace("[Service]", "[Service]\nBogus=1"));
    assert.match(unknown.text, /Unknown key/i, unknown.text);
    const value = await verify(
      SYSTEM_UNIT,
      (t) => t.replace("ProtectHome=read-only", "ProtectHome=maybe"),
    );
    assert.match(value.text, /ProtectHome|protect home/i, value.text);
    const missing = await verify(
      SYSTEM_UNIT,
      (t) => t.replace(`ExecStart=${LAUNCHER}`, "ExecStart=/nonexistent/lttng-trig"),
    );
    assert.notEqual(missing.code, 0, missing.text);
  },
});

Deno.test({
  name: `systemd-analyze security rates the root unit's exposure 5.0 or better${NO_ANALYZE}`,
  ignore: requirement(ANALYZE_MISSING),
  fn: async () => {
    await using copy = await unitCopy(SYSTEM_UNIT);
    const r = await analyze(["security", "--offline=yes", copy.file], false, copy.dir);
    if (/unrecognized option|unknown option/i.test(r.text)) {
      console.warn(`systemd-analyze security --offline is not supported here:\n${r.text}`);
      return;
    }
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.text);
    assert.ok(m !== null, r.text);
    assert.ok(Number(m[1]) <= 5.0, `exposure ${m[1]}:\n${r.text}`);
  },
});

Deno.test("the root unit runs the daemon after lttng-sessiond, hardened as documented", async () => {
  const unit = parseUnit(await Deno.readTextFile(`${UNIT_DIR}/${SYSTEM_UNIT}`));
  const one = (key: string) => {
    const v = unit.get(key);
    assert.ok(v !== undefined && v.length === 1, `${key}: ${v}`);
    return v[0];
  };
  assert.equal(one("Service.ExecStart"), "/usr/bin/lttng-trig daemon");
  assert.equal(one("Unit.Wants"), "lttng-sessiond.service");
  assert.equal(one("Unit.After"), "lttng-sessiond.service");
  assert.equal(one("Service.Restart"), "on-failure");
  assert.equal(one("Install.WantedBy"), "multi-user.target");
  assert.equal(one("Service.NoNewPrivileges"), "yes");
  // AF_NETLINK: the kernel's process connector (the early path).
  assert.equal(one("Service.RestrictAddressFamilies"), "AF_UNIX AF_NETLINK");
  assert.equal(one("Service.ProtectSystem"), "strict");
  // LTTng's run directory, and node_exporter's textfile directory where it exists.
  assert.deepEqual(unit.get("Service.ReadWritePaths"), [
    "/run/lttng",
    "-/var/lib/prometheus/node-exporter",
  ]);
  assert.equal(one("Service.StateDirectory"), "lttng-trig");
  assert.equal(one("Service.StateDirectoryMode"), "0700");
  assert.equal(one("Service.ProtectHome"), "read-only");
  assert.equal(one("Service.PrivateTmp"), "no");
  // What would break it: V8 writes machine code; systemd would take /run/lttng (LTTng's
  // own, group tracing) for root:root and remove it at stop.
  assert.equal(unit.get("Service.MemoryDenyWriteExecute"), undefined);
  assert.equal(unit.get("Service.RuntimeDirectory"), undefined);
  assert.equal(unit.get("Service.PrivateDevices"), undefined);
  assert.equal(unit.get("Service.User"), undefined);
  // /run/lttng must exist before the sandbox binds it.
  assert.match(one("Service.ExecStartPre"), /^\+\/bin\/mkdir -p -m 0755 \/run\/lttng$/);
});

/** The capabilities of the unit's CapabilityBoundingSet, as setpriv names them. */
async function unitCapabilities(): Promise<string[]> {
  const unit = parseUnit(await Deno.readTextFile(`${UNIT_DIR}/${SYSTEM_UNIT}`));
  const caps = unit.get("Service.CapabilityBoundingSet")?.join(" ").split(/\s+/) ?? [];
  assert.ok(caps.length > 0 && caps.every((c) => /^CAP_[A-Z_]+$/.test(c)), caps.join(" "));
  return caps.map((c) => c.slice("CAP_".length).toLowerCase());
}

const SANDBOX_TOOLS = ["unshare", "setpriv", "mount"].filter((t) => which(t) === undefined);
const SANDBOX_MISSING = Deno.uid() !== 0
  ? "needs root"
  : SANDBOX_TOOLS.length > 0
  ? `${SANDBOX_TOOLS.join(", ")} missing: apt-get install util-linux mount`
  : undefined;
const NO_SANDBOX = SANDBOX_MISSING === undefined ? "" : ` (skipped: ${SANDBOX_MISSING})`;

Deno.test({
  name:
    `the daemon works within the root unit's capabilities, without new privileges, from a read-only installation${NO_SANDBOX}`,
  ignore: requirement(SANDBOX_MISSING),
  fn: async () => {
    await using dirs = await makeDirs();
    const caps = await unitCapabilities();
    // ProtectSystem=strict, emulated where it matters: this repository (the launcher,
    // Deno and its cache), /usr and /etc read-only, in a mount namespace of its own;
    // the run and state directories (ReadWritePaths=, StateDirectory=) writable.
    const sandbox = `set -e
for dir in "$1" /usr /etc; do mount --bind "$dir" "$dir"; mount -o remount,bind,ro "$dir"; done
shift
exec setpriv --bounding-set=-all,${
      caps.map((c) => `+${c}`).join(",")
    } --inh-caps=-all --no-new-privs "$@"`;
    const child = new Deno.Command("unshare", {
      args: [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        sandbox,
        "sh",
        ROOT,
        LAUNCHER,
        "daemon",
        `--run-dir=${dirs.run}`,
        `--state-dir=${dirs.state}`,
      ],
      // Not the test run's coverage directory, which this sandbox makes read-only.
      env: withoutCoverage(),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // unshare, sh, setpriv and the launcher each exec the next: the pid is the daemon's.
    await using daemon = await awaitListening(child);

    const status = await Deno.readTextFile(`/proc/${daemon.pid}/status`);
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
    assert.equal(bounding.toString(2).replace(/0/g, "").length, caps.length, status);
    assert.match(status, /^NoNewPrivs:\s*1$/m);
    // mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...".
    const mounts = (await Deno.readTextFile(`/proc/${daemon.pid}/mountinfo`)).split("\n")
      .map((l) => l.split(" ")).filter((f) => f[4] === ROOT);
    assert.ok(mounts.length > 0 && mounts.at(-1)![5].split(",").includes("ro"), mounts.join("\n"));

    const session = uniqueSession("sd");
    const name = await addTrigger(dirs, ["-s", session, "OnAnyCoreDump", "snapshot"]);
    const notify = await cli(notifyArgs(dirs, "4242", "0", "0", "sandboxed", "host"));
    assertExit(notify, 0);
    const history = await client(dirs, "history", ["--json"]);
    assertExit(history, 0);
    const [crash] = (JSON.parse(history.stdout) as {
      crashes: { pid: number; results: { trigger: string; reason?: string }[] }[];
    }).crashes;
    assert.equal(crash.pid, 4242, show(history));
    // The trigger fired and ran lttng; it fails on a session that does not exist, and
    // for no other reason than LTTng's.
    assert.equal(crash.results[0]?.trigger, name, show(history));
    // (No session daemon, or none of that name: nothing else, such as lttng refusing to
    // run because the daemon's ids look setgid to it.)
    const denied =
      /denied|not permitted|not allowed|setuid|setgid|NotCapable|EACCES|EPERM|read-only file system/i;
    assert.doesNotMatch(crash.results[0].reason ?? "", denied, show(history));
    assert.match(
      crash.results[0].reason ?? "",
      /No session daemon|not found|does not exist/i,
      show(history),
    );

    const stopped = await daemon.stop();
    assert.equal(stopped.code, 0, daemon.log);
    assert.doesNotMatch(daemon.log, denied, daemon.log);
    const left = [...Deno.readDirSync(dirs.run)].map((e) => e.name);
    assert.ok(!left.some((n) => n.startsWith("client-") || n.startsWith("notify-")), left.join());
  },
});

/** This process's environment without Deno's coverage directory. */
function withoutCoverage(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.DENO_COVERAGE_DIR;
  return env;
}
