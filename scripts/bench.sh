#!/usr/bin/env bash
# lttng-trig's benchmark (as root): installs what is missing (scripts/setup.sh), then runs
# bench/main.ts, which prints its tables, writes its figures to bench/results.json and
# renders docs/BENCHMARKS.md from them (bench/report.ts). It changes core_pattern only under the tests' lock and restores it,
# starts lttng-sessiond only if none runs, and stops only what it started. Options: --quick
# for a short run, --help.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deno=$(bash "$root/scripts/setup.sh" --tests)
export DENO_DIR="$root/.tools/deno-dir" DENO_NO_UPDATE_CHECK=1
export LTTNG_TRIG_BENCH_COMMAND="bash scripts/bench.sh${*:+ $*}"
cd "$root"
exec "$deno" run --quiet --config "$root/deno.json" -P=tests "$root/bench/main.ts" "$@"
