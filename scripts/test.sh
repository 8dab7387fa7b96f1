#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), checks formatting,
# lint, types and documentation, then runs unit, CLI and end-to-end tests (the
# end-to-end tests need root: they start lttng-sessiond if none runs and write
# core_pattern, restoring it afterwards), and every @example of lib/ and mod.ts
# (deno test --doc). Prints a closing line "N passed, N failed, N skipped (reasons)".
#
# A test that cannot run here (not root, another lttng-trig daemon on /var/run/lttng, a
# missing tool) is skipped and its reason printed. With LTTNG_TRIG_REQUIRE_ALL=1 (as
# .ci/run sets it) such a test fails instead, saying why (tests/fixtures/require.ts);
# the only skip left is a test that needs a newer kernel, named in the closing line.
#   bash scripts/test.sh [deno test arguments, e.g. tests/unit]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
deno=$(bash scripts/setup.sh --tests) || { echo "0 passed, 1 failed"; exit 1; }
export DENO_DIR="$root/.tools/deno-dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

# install refuses to name code in core_pattern that anyone but root could change, up to /
# (docs/SECURITY.md), and the end-to-end tests install this checkout. A checkout that
# install would refuse (a fresh clone below /tmp) is therefore run, as root, from a
# root-only copy under /run, removed afterwards. The check is install's own
# (codeTrustProblems); it prints the first thing install would refuse.
untrusted() {
  "$deno" eval --quiet --config "$root/deno.json" "
    import { codeTrustProblems } from '$root/lib/install/preflight.ts';
    import { describeProblems } from '$root/lib/sys/path_trust.ts';
    const problems = await codeTrustProblems('$root/bin/lttng-trig', { limit: 1 });
    if (problems.length === 0) Deno.exit(1);
    console.log(describeProblems(problems));"
}
# The end-to-end tests also write core_patterns that name the launcher within the kernel's
# 127 bytes: a checkout whose path is longer than the copy's runs from the copy too.
if [ "$(id -u)" -eq 0 ] && [ "${LTTNG_TRIG_TEST_COPY:-}" != 1 ] &&
  { unsafe=$(untrusted) || { [ "${#root}" -gt 14 ] && unsafe="a path of ${#root} characters"; }; }; then
  # A short name: the end-to-end tests write core_patterns that name it, within 127 bytes.
  copy=$(mktemp -d /run/lt.XXXXXX) || { echo "0 passed, 1 failed"; exit 1; }
  trap 'rm -rf "$copy"' EXIT
  trap 'exit 130' INT TERM
  echo "test: running from a short root-only copy, $copy (this checkout: $unsafe)" >&2
  # Root's, writable by root alone; readable by the temporary users the tests create.
  tar -C "$root" --exclude=./.git --exclude=./coverage -cf - . |
    tar -C "$copy" --no-same-owner -xf - || { echo "0 passed, 1 failed"; exit 1; }
  chmod -R go-w "$copy" && chmod 0755 "$copy"
  # Deno's link to itself (node_compat_bin/node) names the original's binary: Deno makes
  # it again, for the copy, if it needs it.
  rm -rf "$copy/.tools/deno-dir/node_compat_bin"
  args=()
  for a in "$@"; do args+=("${a/#"$root"\//"$copy"/}"); done
  LTTNG_TRIG_TEST_COPY=1 bash "$copy/scripts/test.sh" "${args[@]}"
  exit
fi

failed_checks=0
check() {
  local name=$1; shift
  if out=$("$@" 2>&1); then
    echo "check: $name: ok"
  else
    echo "check: $name: FAILED"
    printf '%s\n' "$out" | tail -n 30
    failed_checks=$((failed_checks + 1))
  fi
}
check "deno fmt --check" "$deno" fmt --check
check "deno lint" "$deno" lint
check "deno check" "$deno" check main.ts mod.ts
check "deno doc --lint mod.ts" "$deno" doc --lint mod.ts

rm -rf coverage
log=$(mktemp)
"$deno" test -P=tests --coverage=coverage "${@:-tests/}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$#" -eq 0 ]; then
  # The @example blocks of the library, type-checked and run.
  "$deno" test -P=tests --doc lib/ mod.ts 2>&1 | tee -a "$log"
  doc_rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] && rc=$doc_rc
fi
if [ -d coverage ]; then
  echo "--- coverage (in-process code; subprocess runs are not counted) ---"
  "$deno" coverage coverage --exclude='tests/' 2>/dev/null | tail -n 40 || true
fi

# Deno's summary, once per run: "ok | 12 passed (5 steps) | 0 failed | 1 ignored (3s)".
sum() { sed -nE "s/^(ok|FAILED) \| .*\| ([0-9]+) $1.*/\2/p; s/^(ok|FAILED) \| ([0-9]+) $1.*/\2/p" "$log" |
  awk '{ n += $1 } END { print n + 0 }'; }
summaries=$(grep -cE '^(ok|FAILED) \| ' "$log")
passed=$(sum passed)
failed=$(sum failed)
ignored=$(sum ignored)
# Why tests did not run, as tests/fixtures/require.ts printed it.
notrun=$(grep -E '^(skipped|skipped \(kernel\)|not run \(required\)): ' "$log" | sort -u)
if [ -n "$notrun" ]; then
  echo "--- tests that did not run ---"
  printf '%s\n' "$notrun"
fi
reasons=$(sed -nE 's/^skipped \(kernel\): ([^(]*[^ (]).*/kernel: \1/p; s/^skipped: [^ ]+: (.*)/\1/p;
  s/^not run \(required\): [^ ]+: (.*)/required, FAILED: \1/p' <<<"$notrun" |
  sort -u | paste -sd ';' - | sed 's/;/; /g')
rm -f "$log"
failed=$((failed + failed_checks))
if [ "$summaries" -eq 0 ] && [ "$rc" -ne 0 ]; then failed=$((failed + 1)); fi
echo "${passed} passed, ${failed} failed, ${ignored} skipped${reasons:+ (${reasons})}"
[ "$rc" -eq 0 ] && [ "$failed_checks" -eq 0 ]
