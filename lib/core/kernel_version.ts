/**
 * A kernel release's version, for the features that depend on it (the coredump socket,
 * `%e` split on spaces): read by the notifier, install and status alike.
 *
 * @module
 */

/** The `[major, minor]` of a kernel release such as "6.18.44-fc", or undefined. */
export function kernelVersion(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}
