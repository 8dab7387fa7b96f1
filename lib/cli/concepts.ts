/**
 * lttng-trig-concepts(7): what lttng-trig is made of and how a crash goes through it, as
 * lttng-concepts(7) is for LTTng. The one source of docs/CONCEPTS.md and of the man page
 * (`deno task man`); the figures come from the constants the code uses.
 *
 * @module
 */
import type { TopicPage } from "./topic_page.ts";
import { DEFAULT_HOLD_MS, USER_HOLD_MS } from "../notify/notifier.ts";
import { HISTORY_MAX_AGE_DEFAULT_MS } from "../store/crashes.ts";

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
        "- The condition is `OnAnyCoreDump`, narrowed by filters that must all match: `--exec=GLOB` (without `/`, the exec name, which any process can choose; with `/`, the executable's path as the kernel reports it), `--uid=UID,...` and `--signal=SIG,...` (where the signal is known).",
        "- The action `snapshot` records a snapshot of the session named after the crash (`core-EXEC-PID-...`), to the session's output, a `--path`, or an lttng-relayd (`--url=net://HOST`); `stop` stops the session. Actions call liblttng-ctl, or the `lttng` command when the library cannot, never through a shell and always within a deadline.",
        "- Rate limits count per trigger and per crashing uid, on disk: `--rate-policy=every:N|once-after:N` (LTTng's words), `--cooldown=DURATION` (one action per uid and exec name per window) and `--max-per-day=N`. One user's crashes spend only that user's share.",
      ],
    },
    {
      heading: "How a crash reaches lttng-trig",
      paragraphs: [
        "The kernel hands a core dump to whatever /proc/sys/kernel/core_pattern names. `lttng-trig install` points it at lttng-trig, remembering what was there, and `uninstall` gives that back byte for byte.",
        "- Pipe mode (`|/usr/bin/lttng-trig notify %p %u %g %e %h`, every kernel): the kernel runs the notifier, which tells the root daemon and the crashing user's own daemon, waits for their reply, then releases the dump.",
        "- Socket mode (`@/run/lttng/coredump-lttng-trig`, Linux 6.16 and later): the kernel connects to the root daemon's coredump socket as the crashing task; no process is started.",
        "- Chaining (`install --chain`): the previous handler, such as systemd-coredump, still runs on every crash, after lttng-trig's actions, exactly as the kernel would have run it.",
        "The kernel names the crash: the pidfd it gives the helper, or the coredump socket's peer, never a pid number looked up later.",
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
      ],
    },
    {
      heading: "History",
      paragraphs: [
        `Every crash the daemon receives is recorded with its facts, each trigger's outcome (ok, failed with the reason, skipped with the reason), the snapshot, the core and the crash's outcome (ok, failed, no-trigger, skipped, pending, interrupted). History is bounded, as journald's is: at most \`daemon --history-max=N\` crashes, for at most ${
          days(HISTORY_MAX_AGE_DEFAULT_MS)
        } by default. \`lttng-trig history\`, \`show\` and \`watch\` read it.`,
        "Crashes of lttng-sessiond, lttng-consumerd and lttng-relayd themselves are recorded and skipped: acting on a session would block on the frozen session daemon.",
      ],
    },
    {
      heading: "Kept cores and crash reports",
      paragraphs: [
        "With `--core-dir=DIR`, lttng-trig keeps each core in DIR, compressed with zstd, after the actions, under limits in the manner of systemd's coredump.conf (see lttng-trig-core-limits(5)).",
        "For a crash whose core is kept, `lttng-trig show CRASH` puts where the program died beside what it did: the backtrace of the crashing thread, computed with eu-stack after the crash is released, then that thread's last events from the snapshot, matched by the `vtid` context (or the process's `vpid`). Record both contexts: `lttng add-context -u -t vpid -t vtid`, before the session's first start.",
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
