#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), checks formatting,
# lint, types and documentation, then runs unit, CLI and end-to-end tests (the
# end-to-end tests need root: they start lttng-sessiond if none runs and write
# core_pattern, restoring it afterwards). Prints a closing line "N passed, N failed".
#   bash scripts/test.sh [deno test arguments, e.g. tests/unit]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
deno=$(bash scripts/setup.sh --tests) || { echo "0 passed, 1 failed"; exit 1; }
export DENO_DIR="$root/.tools/deno-dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

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
if [ -d coverage ]; then
  echo "--- coverage (in-process code; subprocess runs are not counted) ---"
  "$deno" coverage coverage --exclude='tests/' 2>/dev/null | tail -n 40 || true
fi

# Deno's summary: "ok | 12 passed (5 steps) | 0 failed | 1 ignored (3s)".
summary=$(grep -E '^(ok|FAILED) \| ' "$log" | tail -n 1)
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
rm -f "$log"
passed=${passed:-0}
failed=$(( ${failed:-0} + failed_checks ))
if [ -z "$summary" ] && [ "$rc" -ne 0 ]; then failed=$((failed + 1)); fi
echo "${passed} passed, ${failed} failed, ${ignored:-0} skipped"
[ "$rc" -eq 0 ] && [ "$failed_checks" -eq 0 ]
