/**
 * lttng-trig-concepts(7): what lttng-trig is made of and how a crash goes through it, as
 * lttng-concepts(7) is for LTTng. The one source of docs/CONCEPTS.md and of the man page
 * (`deno task man`); the figures come from the constants the code uses.
 *
 * @module
 */
import type { TopicPage } from "./topic_page.ts";
import { DEFAULT_HOLD_MS, HELD_PER_UID, USER_HOLD_MS } from "../notify/notifier.ts";
import { REPORT_SETTLE_MS } from "../daemon/report_queue.ts";
import { HISTORY_MAX_AGE_DEFAULT_MS } from "../store/history_limits.ts";

const seconds = (ms: number) => `${ms / 1000} s`;
const days = (ms: number) => `${ms / 86_400_000} days`;

/** The concepts page. */
export const CONCEPTS_PAGE: TopicPage = {
  name: "lttng-trig-concepts",
  section: 7,
  summary: "lttng-trig concepts",
  sections: [
    {
      heading: "Description",
      paragraphs: [
        "A recording session in snapshot (flight-recorder) mode keeps its last events in memory only: other processes overwrite them, and with per-process buffers they vanish when the crashed process is reaped. lttng-trig is told of a crash at the moment of its core dump, holds the crashed process in its dump until the snapshot is taken, then releases it, with no change to the traced program. This page explains the parts: triggers, how a crash reaches lttng-trig, what is held and for how long, the history, kept cores and crash reports.",
      ],
    },
    {
      heading: "Triggers",
      paragraphs: [
        'A trigger is a condition, an action on one LTTng session, a name and rate limits, after the RFC "Triggers in lttng-tools": `lttng-trig set -s mysession OnAnyCoreDump snapshot`. Names are unique per daemon (`trigger-N` when not given); an identical trigger cannot be set twice. Triggers are on disk before `set` is answered, and survive restarts.',
        "- The condition is `OnAnyCoreDump`, narrowed by filters that must all match: `--exec=GLOB` (without `/`, the exec name, at most 15 characters, which any process can set to anything, so that on the root daemon any user can fire a trigger that matches the exec name alone: `set` warns; with `/`, the executable's path as the kernel reports it), `--uid=UID,...` and `--signal=SIG,...` (where the signal is known: `install`'s default line passes it, `--minimal` does not). Globs are picomatch's (`*`, `?`, `[...]`, `{a,b}`, `**`).",
        "- The action `snapshot` records a snapshot of the session named after the crash (`core-EXEC-PID-...`), to the session's output, a `--path`, or an lttng-relayd (`--url=net://HOST`); `stop` stops the session. Actions call liblttng-ctl, or the `lttng` command when the library cannot, never through a shell and always within a deadline.",
        "- Rate limits count per trigger and per crashing uid, on disk: `--rate-policy=every:N|once-after:N` (LTTng's words), `--cooldown=DURATION` (one action per uid and exec name per window) and `--max-per-day=N`. One user's crashes spend only that user's share; a subordinate uid (/etc/subuid, rootless containers) spends its owner's.",
        "- Retention: `--max-snapshots=N` keeps the N newest snapshots of a trigger and `--max-age=DURATION` removes older ones; the daemon also keeps the snapshots it created within a total size and a free-space floor (`daemon --snapshots-max-use`, `--snapshots-keep-free`, as coredump.conf's MaxUse and KeepFree). Only directories the history records as this trigger's snapshots are removed, and the history says which and why.",
      ],
    },
    {
      heading: "How a crash reaches lttng-trig",
      paragraphs: [
        "The kernel hands a core dump to whatever /proc/sys/kernel/core_pattern names. `lttng-trig install` points it at lttng-trig, remembering what was there, and `uninstall` gives that back byte for byte.",
        "- Pipe mode (`|/usr/bin/lttng-trig notify %p %u %g %e %h`, every kernel): the kernel runs the notifier, which tells the root daemon and the crashing user's own daemon, waits for their reply, then releases the dump.",
        "- Socket mode (`@/run/lttng/coredump-lttng-trig`, Linux 6.16 and later): the kernel connects to the root daemon's coredump socket as the crashing task; no process is started.",
        "- Chaining (`install --chain`): the previous handler, such as systemd-coredump, still runs on every crash, after lttng-trig's actions, exactly as the kernel would have run it.",
        "- The early path: the root daemon also listens to the kernel's process connector, which announces every core-dumping signal (PROC_EVENT_COREDUMP) about 0.1 ms after the fault, before any helper runs. The daemon pins the process with a pidfd, decides and starts the actions there and then; the helper joins the crash in flight, and the crash is one record with both arrival times. With per-uid buffers on a busy machine, this is what keeps the crash's last events from being overwritten. `daemon --connector=only` acts on the connector alone and never touches core_pattern, but cannot hold the process: with per-process buffers they may be gone before the snapshot.",
        "The kernel names the crash: the pidfd it gives the helper (`%F`), the coredump socket's peer credentials (SO_PEERPIDFD), or the connector's pinned pidfd, never a pid number looked up later. Every follow-up (the core's fate, the chained handler's result, the report) names the crash id the daemon returned.",
        "  mode            core_pattern                              per crash                      kernels\n  pipe            |/usr/bin/lttng-trig notify %p %u %g %e %h  a Deno process (~30 ms)         all\n  socket          @/run/lttng/coredump-lttng-trig           a connection to the daemon      6.16+\n  connector only  (left to another handler)                 nothing: the kernel's notice    all",
      ],
    },
    {
      heading: "Holding the crash",
      paragraphs: [
        `The notifier does not read the core until the daemons reply (at most ${
          seconds(DEFAULT_HOLD_MS)
        }; a user's own daemon gets ${
          seconds(USER_HOLD_MS)
        }), so the crashed process stays in its dump with its per-process buffers alive. A stop action does not hold it: LTTng's stop waits on every traced process, the frozen one included.`,
        "Actions on one session run one at a time. A crash that arrives while an identical action on that session is queued joins it; it never joins one that has started, whose snapshot might miss its events.",
        `Each user has a share of the crashes held at once (${HELD_PER_UID}, a subordinate uid counting as its owner), which covers everything done while the kernel waits: the actions, keeping the core, the chained handler. A crash past its user's share is released at once, and recorded so, so that one user never fills the kernel's core_pipe_limit for everyone.`,
      ],
    },
    {
      heading: "History",
      paragraphs: [
        `Every crash the daemon receives is recorded with its facts, each trigger's outcome (ok, failed with the reason, skipped with the reason), the snapshot, the core and the crash's outcome (ok, failed, no-trigger, skipped, pending, interrupted). History is bounded, as journald's is: at most \`daemon --history-max=N\` crashes, for at most ${
          days(HISTORY_MAX_AGE_DEFAULT_MS)
        } by default. \`lttng-trig history\`, \`show\` and \`watch\` read it.`,
        "Crashes of lttng-sessiond, lttng-consumerd and lttng-relayd themselves are recorded and skipped: acting on a session would block on the frozen session daemon. A crash that came while no daemon ran is journaled by the notifier and imported at the daemon's next start (outcome missed). Past the count limit, the uid with the most crashes loses its oldest first, so that one user's crash loop never erases another's record.",
        "Each crash has a signature, as apport's crash_signature and ABRT's duphash: from the crashing thread's innermost named frames (module and function, no addresses), or the signal and the executable when no frame is named. `history --by-signature` shows a crash loop as one line with a count; the journal entry carries it for a fleet.",
      ],
    },
    {
      heading: "Kept cores and crash reports",
      paragraphs: [
        "With `--core-dir=DIR`, lttng-trig keeps each core in DIR, compressed with zstd, after the actions, under limits in the manner of systemd's coredump.conf (see lttng-trig-core-limits(5)).",
        "For a crash whose core is kept, `lttng-trig show CRASH` puts where the program died beside what it did: the backtrace of the crashing thread, computed with eu-stack after the crash is released, then that thread's last events from the snapshot, matched by the `vtid` context (or the process's `vpid`). Record both contexts: `lttng add-context -u -t vpid -t vtid`, before the session's first start.",
        `The report is made with the crashing user's rights (their uid and groups: the core decompressed, and eu-stack run, as them), each uid with a fair share of the report queue, once no crash has come for ${REPORT_SETTLE_MS} ms (so that it does not slow the programs that start right after a crash).`,
      ],
    },
    {
      heading: "Files",
      paragraphs: [
        "  what                                root                            other users\n  RUN_DIR                             /var/run/lttng                  $LTTNG_HOME/.lttng\n  notification socket (the RFC's)     RUN_DIR/notify-lttng-sessiond   the same\n  control socket                      RUN_DIR/client-lttng-trig       the same\n  coredump socket                     RUN_DIR/coredump-lttng-trig     (root only)\n  state: lttng-trig.db, notifier.log  /var/lib/lttng-trig             $LTTNG_HOME/.lttng/lttng-trig\n  current session for set without -s  $LTTNG_HOME/.lttngrc            the same",
        "`$LTTNG_RUNDIR` or `--run-dir` overrides RUN_DIR, `--state-dir` the state directory. The kernel runs the notifier with an empty environment, so it always uses the root defaults; a user's daemon must use its default RUN_DIR to hear of that user's crashes. The control socket is root's, and readable by group `tracing` where that group exists: its members may list, read the history, show, watch and ask the status, but not set or remove triggers.",
      ],
    },
  ],
  seeAlso: [
    "lttng-trig(1)",
    "lttng-trig-set(1)",
    "lttng-trig-install(1)",
    "lttng-concepts(7)",
    "lttng-snapshot(1)",
    "core(5)",
  ],
  doc: "CONCEPTS.md",
};
