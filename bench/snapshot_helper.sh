#!/bin/sh
# A plain shell core_pattern helper that takes an LTTng snapshot by running
# 'lttng snapshot record' itself: the benchmark's baseline for lttng-trig's pipe mode.
#
#   core_pattern: |/bin/sh /path/to/repo/bench/snapshot_helper.sh SESSION LOG %p %e
#
# The kernel runs it as root with an empty environment and stdout/stderr closed. It does
# not read the core, so the crashed process stays in its dump until the snapshot is
# taken and this script exits. One line per run is appended to LOG:
#   pid=PID ret=RET start_real_ns=T0     (T0: CLOCK_REALTIME before the snapshot began)
session=$1
log=$2
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
t0=$(date +%s%N)
# %e is data: it only ever appears inside one argument, after a fixed prefix.
lttng --no-sessiond snapshot record --session="$session" --name="core-$4-$3" \
  </dev/null >/dev/null 2>&1
echo "pid=$3 ret=$? start_real_ns=$t0" >>"$log"
