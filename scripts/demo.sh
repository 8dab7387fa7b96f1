#!/usr/bin/env bash
# Demonstrates lttng-trig's main job on this machine (as root): installs what is missing,
# then crashes a traced program and shows its last events in the snapshot lttng-trig
# took at the core dump. Puts core_pattern, sessions and daemons back as they were.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deno=$(bash "$root/scripts/setup.sh")
export DENO_DIR="$root/.tools/deno-dir" DENO_NO_UPDATE_CHECK=1
exec "$deno" run --quiet -P=tests "$root/scripts/demo.ts"
