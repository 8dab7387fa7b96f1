/** The core_pattern model: the line install writes, what a pattern does, how one is quoted. */
import assert from "node:assert/strict";
import {
  classifyCorePattern,
  corePatternFor,
  kernelHasCoredumpSocket,
  kernelHasPidfdSpecifier,
  patternFacts,
  quotePattern,
} from "../../lib/install/pattern.ts";

Deno.test("corePatternFor() gives the design card's line, and the --facts and --core-dir forms", () => {
  const exe = "/usr/bin/lttng-trig";
  assert.equal(corePatternFor({ exe }), "|/usr/bin/lttng-trig notify %p %u %g %e %h");
  assert.equal(
    corePatternFor({ exe, facts: true }),
    "|/usr/bin/lttng-trig notify --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
  );
  // --core-dir implies --facts.
  assert.equal(
    corePatternFor({ exe, coreDir: "/var/crash/t" }),
    "|/usr/bin/lttng-trig notify --core-dir=/var/crash/t --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
  );
  assert.throws(() => corePatternFor({ exe: "lttng-trig" }), TypeError);
  assert.throws(() => corePatternFor({ exe, coreDir: "crash" }), /not an absolute path/);
  assert.throws(() => corePatternFor({ exe, coreDir: "/var/my crash" }), /white space/);
  assert.throws(() => corePatternFor({ exe, coreDir: "/var/%p" }), /'%'/);
});

Deno.test("classifyCorePattern() tells lttng-trig's notifier from other handlers and core files", () => {
  assert.deepEqual(classifyCorePattern("|/usr/bin/lttng-trig notify %p %u %g %e %h\n"), {
    kind: "ours",
    exe: "/usr/bin/lttng-trig",
  });
  assert.deepEqual(
    classifyCorePattern("|  /opt/x/bin/lttng-trig notify --facts=%P:%s %p %u %g %e %h"),
    { kind: "ours", exe: "/opt/x/bin/lttng-trig" },
  );
  assert.deepEqual(
    classifyCorePattern("|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h"),
    { kind: "handler", handler: "/lib/systemd/systemd-coredump" },
  );
  assert.deepEqual(classifyCorePattern("|/usr/share/apport/apport -p%p -s%s -c%c -d%d"), {
    kind: "handler",
    handler: "/usr/share/apport/apport",
  });
  // Named lttng-trig but not the notifier, or the notifier of another name: not ours.
  assert.equal(classifyCorePattern("|/usr/bin/lttng-trig daemon").kind, "handler");
  assert.equal(classifyCorePattern("|/usr/bin/lttng-trig-old notify %p").kind, "handler");
  assert.deepEqual(classifyCorePattern("@/run/systemd/coredump"), {
    kind: "handler",
    handler: "the coredump socket /run/systemd/coredump",
  });
  assert.equal(classifyCorePattern("@@/run/x.sock").kind, "handler");
  assert.deepEqual(classifyCorePattern("core\n"), { kind: "file" });
  assert.deepEqual(classifyCorePattern("/var/crash/core.%e.%p"), { kind: "file" });
  assert.deepEqual(classifyCorePattern(""), { kind: "file" });
  assert.equal(classifyCorePattern("|").kind, "handler");
});

Deno.test("quotePattern() quotes a pattern for a message, escaping control characters", () => {
  assert.equal(quotePattern("core\n"), "'core'");
  assert.equal(quotePattern("a\tb"), '"a\\tb"');
});

Deno.test("kernelHasCoredumpSocket() is true from Linux 6.16 on", () => {
  assert.equal(kernelHasCoredumpSocket("6.16.0"), true);
  assert.equal(kernelHasCoredumpSocket("7.0.1-arch1"), true);
  assert.equal(kernelHasCoredumpSocket("6.15.9"), false);
  assert.equal(kernelHasCoredumpSocket("5.19.0"), false);
  assert.equal(kernelHasCoredumpSocket("not a release"), false);
});

Deno.test("corePatternFor() passes --tid=%i with the facts, before --facts, unless tid is false", () => {
  const exe = "/usr/bin/lttng-trig";
  assert.match(corePatternFor({ exe, facts: true }), / --tid=%i --facts=/);
  assert.doesNotMatch(corePatternFor({ exe }), /--tid/);
  assert.equal(
    corePatternFor({ exe, facts: true, tid: false }),
    "|/usr/bin/lttng-trig notify --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
  );
});

Deno.test("corePatternFor() passes the kernel's pidfd (%F) before %E, where asked", () => {
  assert.equal(
    corePatternFor({ exe: "/usr/bin/lttng-trig", facts: true, pidfd: true }),
    "|/usr/bin/lttng-trig notify --tid=%i --facts=%P:%s:%t:%c:%d:%F:%E %p %u %g %e %h",
  );
  // 3 bytes more than without it.
  assert.equal(corePatternFor({ exe: "/usr/bin/lttng-trig", facts: true, pidfd: true }).length, 80);
  assert.deepEqual(
    patternFacts("|/usr/bin/lttng-trig notify --facts=%P:%s:%t:%c:%d:%F:%E %p %u %g %e %h"),
    { signal: true, exePath: true },
  );
  assert.equal(kernelHasPidfdSpecifier("6.15.9"), false);
  assert.equal(kernelHasPidfdSpecifier("6.16.0"), true);
  assert.equal(kernelHasPidfdSpecifier("6.18.44-fc-v1252"), true);
});
