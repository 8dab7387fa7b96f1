#!/bin/sh
# A plain shell core_pattern helper that takes an LTTng snapshot by running
# 'lttng snapshot record' itself: the benchmark's baseline for lttng-trig's pipe mode.
# scripts/bench.ts copies it into a temporary directory and bakes in the session name
# and the log file (the @...@ words below), then points core_pattern at the copy:
#
#   core_pattern: |/tmp/.../snapshot_helper.sh %p %e
#
# The kernel runs it as root with an empty environment and stdout/stderr closed. It does
# not read the core, so the crashed process stays in its dump until the snapshot is
# taken and this script exits. One line per run is appended to the log: pid=PID ret=RET
session='@SESSION@'
log='@LOG@'
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
# %e is data: it only ever appears inside one argument, after a fixed prefix.
lttng --no-sessiond snapshot record --session="$session" --name="core-$2-$1" \
  </dev/null >/dev/null 2>&1
echo "pid=$1 ret=$?" >>"$log"
