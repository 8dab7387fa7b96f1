/**
 * lttng-trig-core-limits(5): the file that limits the kept cores, as systemd has
 * coredump.conf(5). Its defaults are read from the constants the keeper uses.
 *
 * @module
 */
import type { TopicPage } from "./topic_page.ts";
import {
  DEFAULT_CORE_CAP_BYTES,
  DEFAULT_CORE_MAX_BYTES,
  DEFAULT_KEEP_FREE_SHARE,
  DEFAULT_MAX_USE_SHARE,
  DEFAULT_UID_SHARE,
} from "../notify/core_vacuum.ts";
import { LIMITS_FILE } from "../core/paths.ts";

const gib = (bytes: number) => `${bytes / 1024 ** 3}G`;
const percent = (share: number) => `${Math.round(share * 100)}%`;

/** The core limits page. */
export const CORE_LIMITS_PAGE: TopicPage = {
  name: "lttng-trig-core-limits",
  section: 5,
  summary: "limits on the cores lttng-trig keeps",
  sections: [
    {
      heading: "Synopsis",
      paragraphs: [`  CORE_DIR/${LIMITS_FILE}`],
    },
    {
      heading: "Description",
      paragraphs: [
        `With \`install --core-dir=DIR\` (pipe mode) or \`daemon --core-dir=DIR\` (socket mode), lttng-trig keeps each crash's core in DIR, compressed with zstd, as \`core.EXEC.UID.PID.TIME.zst\`, mode 0600. The optional file DIR/${LIMITS_FILE}, a JSON object, sets the limits on those cores, in the manner of systemd's coredump.conf(5). It must be a regular file that only root can write (not a link); when it is not, or cannot be parsed, no core is kept and the history says why.`,
        "Before and while a core is written, the oldest kept cores are removed to make room: first the crashing uid's own, while its cores would pass its share; then the heaviest uid's, while all cores would pass maxUse; for keepFree, only the crashing uid's. A core that still does not fit is not kept, and the history says why.",
        'Sizes are bytes (a number) or a string with K, M, G or T (powers of 1024), or a percentage of the directory\'s filesystem (`"10%"`). 0 turns maxUse (and the uid share) or keepFree off.',
      ],
    },
    {
      heading: "Options",
      paragraphs: [
        `- \`maxUse\`: how much all kept cores (compressed) may use. Default: ${
          percent(DEFAULT_MAX_USE_SHARE)
        } of the filesystem, at most ${gib(DEFAULT_CORE_CAP_BYTES)}, as systemd's MaxUse=.`,
        `- \`keepFree\`: how much of the filesystem stays free, checked every MiB while writing. Default: ${
          percent(DEFAULT_KEEP_FREE_SHARE)
        } of the filesystem, at most ${gib(DEFAULT_CORE_CAP_BYTES)}, as systemd's KeepFree=.`,
        `- \`uidShare\`: the share of maxUse one uid's cores may use, a fraction or a percentage in (0, 1]. Default: ${DEFAULT_UID_SHARE}.`,
        `- \`maxCore\`: the largest core kept, uncompressed, as systemd's ExternalSizeMax=. Default: ${
          gib(DEFAULT_CORE_MAX_BYTES)
        }.`,
      ],
    },
    {
      heading: "Example",
      paragraphs: [
        `  {"maxUse": "16G", "keepFree": "5%", "uidShare": 0.5, "maxCore": "4G"}`,
      ],
    },
  ],
  seeAlso: ["lttng-trig-install(1)", "lttng-trig-daemon(1)", "lttng-trig-concepts(7)", "core(5)"],
  doc: "CORE_LIMITS.md",
};
