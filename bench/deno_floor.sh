#!/bin/sh
# The bare Deno runtime as a core_pattern helper: the floor of lttng-trig's pipe mode.
# It starts the way bin/lttng-trig starts the notifier (sh, then exec of the pinned Deno
# with its cache in the project, --cached-only) but runs bench/empty.ts, with no config
# and no permissions, and exits without reading the core:
#
#   core_pattern: |/bin/sh /path/to/repo/bench/deno_floor.sh
#
# The kernel runs it as root with an empty environment, cwd / and stdout/stderr closed.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
[ -e /proc/self/fd/1 ] || exec 1>/dev/null
[ -e /proc/self/fd/2 ] || exec 2>/dev/null
root=${0%/bench/*}
deno=
for candidate in "$root"/.tools/node_modules/@deno/linux-*-glibc/deno; do
  [ -x "$candidate" ] && deno=$candidate
done
[ -n "$deno" ] || exit 70
DENO_DIR="$root/.tools/deno-dir"
DENO_NO_UPDATE_CHECK=1
DENO_NO_PROMPT=1
export DENO_DIR DENO_NO_UPDATE_CHECK DENO_NO_PROMPT
exec "$deno" run --quiet --no-prompt --cached-only --no-config "$root/bench/empty.ts"
