/**
 * The notifier's usage text: here, beside it, so that \`notify --help\` loads nothing of
 * the other commands.
 *
 * @module
 */

/** \`lttng-trig notify --help\`. */
export const NOTIFY_HELP =
  `Usage: lttng-trig notify [--run-dir=DIR] [--state-dir=DIR] [--timeout=MS] [--facts=FACTS] [--core-dir=DIR] PID UID GID EXEC HOST

The core dump notifier, run by the kernel from /proc/sys/kernel/core_pattern:

  |/usr/bin/lttng-trig notify %p %u %g %e %h

It sends the crash to the root daemon and to the crashing user's own daemon (if one
runs, in a socket that user owns, served by that user), holds the dump until they
reply (at most --timeout, default 10000 ms; the user's daemon at most 2000 ms; past 4
crashes of one user held at once, not at all) so that the snapshot still holds the
process's last events, then releases it. PID UID GID EXEC HOST are taken as they are: an exec name such as --help
stays data. Failures go to STATE_DIR/notifier.log, shown by 'lttng-trig status'.
'lttng-trig install' writes the line for you.

Options (only in the --name=value form, before the five values):
      --run-dir=DIR     The root daemon's run directory (default /var/run/lttng).
      --state-dir=DIR   Where failures are journaled (default /var/lib/lttng-trig).
      --timeout=MS      Longest hold of the dump waiting for replies (default 10000).
                          |/usr/bin/lttng-trig notify --timeout=3000 %p %u %g %e %h
      --facts=FACTS     The kernel's richer facts, written %P:%s:%t:%c:%d:%E (global
                        pid, signal, time, core limit, dump mode, executable path):
                        they make --signal and path --exec filters work.
                          |/usr/bin/lttng-trig notify --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h
      --core-dir=DIR    Keep each core in DIR, compressed with zstd, after the replies
                        (at most 2 GiB of core, leaving 1 GiB free; the crash's ulimit -c
                        is honoured when --facts passes it).
`;
