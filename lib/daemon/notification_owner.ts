/**
 * Which crashes a daemon may act on: root's daemon on every crash, a user's daemon only
 * on its own user's. The notifier already sends a user's daemon only that user's
 * crashes, but anyone who can connect to the socket could send a notification; this is
 * the daemon's own check (docs/SECURITY.md, "The notifier").
 *
 * @module
 */

/**
 * Whether a daemon running as `daemonUid` accepts a notification of a crash of
 * `notifiedUid`: root's daemon accepts all, a user's daemon only its own uid.
 *
 * @example
 * ```ts
 * import { acceptsNotification } from "./notification_owner.ts";
 * acceptsNotification(0, 1000); // true
 * acceptsNotification(1000, 1000); // true
 * acceptsNotification(1000, 1001); // false
 * ```
 */
export function acceptsNotification(daemonUid: number, notifiedUid: number): boolean {
  return daemonUid === 0 || daemonUid === notifiedUid;
}
