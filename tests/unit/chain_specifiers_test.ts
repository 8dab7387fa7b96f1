/** The core(5) specifiers of a chained handler, expanded as the kernel's format_corename(). */
import assert from "node:assert/strict";
import { chainValuesOf, chainWords, hasChain } from "../../lib/core/chain_words.ts";
import {
  expandPipeCommand,
  pipeCommandOf,
  programOf,
  specifiersUsed,
} from "../../lib/core/core_specifiers.ts";
import { planChain } from "../../lib/install/chain_plan.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";

const ALL = {
  p: "42",
  P: "4242",
  i: "43",
  I: "4343",
  u: "1000",
  g: "100",
  d: "1",
  s: "11",
  t: "1700000000",
  h: "box",
  e: "my app",
  E: "!usr!bin!my app",
  f: "my app",
  c: "0",
  C: "3",
  F: "3",
};

Deno.test("expandPipeCommand() expands every specifier, glued or alone, as the kernel does", () => {
  assert.deepEqual(
    expandPipeCommand("/h -p%p %P %i %I %u %g %d %s %t %h %e %f %E %c %C %F %%", ALL),
    [
      "/h",
      "-p42",
      "4242",
      "43",
      "4343",
      "1000",
      "100",
      "1",
      "11",
      "1700000000",
      "box",
      "my app",
      "my app",
      "!usr!bin!my app",
      "0",
      "3",
      "3",
      "%",
    ],
  );
});

Deno.test("expandPipeCommand() splits only at the pattern's own white space, once per run", () => {
  assert.deepEqual(expandPipeCommand("  /h \t a  b%e\n", ALL), ["/h", "a", "bmy app"]);
});

Deno.test("expandPipeCommand() drops an unknown specifier with its letter, even a space", () => {
  assert.deepEqual(expandPipeCommand("/h %Z x a% b", ALL), ["/h", "", "x", "ab"]);
});

Deno.test("expandPipeCommand() stops at a '%' that ends the pattern", () => {
  assert.deepEqual(expandPipeCommand("/h 100%", ALL), ["/h", "100"]);
  assert.deepEqual(expandPipeCommand("/h 100%%", ALL), ["/h", "100%"]);
});

Deno.test("expandPipeCommand() expands a specifier with no value to nothing", () => {
  assert.deepEqual(expandPipeCommand("/h -c%c", {}), ["/h", "-c"]);
});

Deno.test("specifiersUsed() and programOf() read the patterns of apport, systemd-coredump and ABRT", () => {
  const apport = "/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -F%F -- %E";
  assert.equal(specifiersUsed(apport), "pPugdsEcF");
  assert.equal(programOf(apport), "/usr/share/apport/apport");
  const systemd = "/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h %d";
  assert.equal(specifiersUsed(systemd), "Pugdsth");
  const abrt = "/usr/libexec/abrt-hook-ccpp %s %c %p %u %g %t %e %P %I %h";
  assert.equal(specifiersUsed(abrt), "pPIugsthec");
  assert.equal(specifiersUsed("/h %% %Z"), "");
});

Deno.test("chainWords() carries what the notifier lacks; chainValuesOf() reads it back", () => {
  const apport = "/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -F%F -- %E";
  const words = chainWords(specifiersUsed(apport));
  assert.deepEqual(words, ["--chain=PdscF:%P:%d:%s:%c:%F", "--chain-exe=%E"]);
  // What the kernel gives the notifier for that pattern, the exec name with a space.
  const argv = [
    "--chain=PdscF:4242:1:11:0:3",
    "--chain-exe=!opt!a:b c",
    "42",
    "0",
    "0",
    "my app",
    "box",
  ];
  assert.equal(hasChain(argv), true);
  const values = chainValuesOf(argv);
  assert.deepEqual(expandPipeCommand(apport, values), [
    "/usr/share/apport/apport",
    "-p42",
    "-s11",
    "-c0",
    "-d1",
    "-P4242",
    "-u0",
    "-g0",
    "-F3",
    "--",
    "!opt!a:b c",
  ]);
  assert.deepEqual(chainWords("pug"), ["--chain="]);
  assert.equal(hasChain(["--facts=1:2", "42", "--chain=", "0", "0", "x", "h"]), false);
  assert.equal(hasChain(["42", "0", "0", "--chain=x", "h"]), false);
});

Deno.test("chainValuesOf() joins an exec name split by an old kernel", () => {
  const v = chainValuesOf(["--chain=", "42", "0", "0", "my", "app", "box"]);
  assert.equal(v.e, "my app");
  assert.equal(v.h, "box");
});

Deno.test("corePatternFor() with a chain fits systemd-coredump's needs", () => {
  const plan = planChain(
    "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h %d\n",
    60000,
  );
  assert.equal(
    corePatternFor({ exe: "/usr/bin/lttng-trig", chainSpecifiers: plan.chain?.specifiers }),
    "|/usr/bin/lttng-trig notify --chain=Pdst:%P:%d:%s:%t %p %u %g %e %h",
  );
  assert.equal(pipeCommandOf("core\n"), undefined);
});

Deno.test("planChain() refuses a coredump socket and has nothing to chain over a core file", () => {
  assert.throws(
    () => planChain("@/run/systemd/coredump.socket\n", 60000),
    /only the kernel can connect/,
  );
  assert.match(planChain("core\n", 60000).note ?? "", /--core-dir/);
});
