/**
 * A set of listeners of one kind of event: what the daemon's crash handler, report queue
 * and chained-handler runs each tell `watch`, the journal and the metrics.
 *
 * @module
 */

/**
 * Listeners of events of type `T`: each is told every event emitted while it listens, in
 * the order it began to listen; one that throws does not keep the others from hearing.
 *
 * @example
 * ```ts
 * import { Listeners } from "./listeners.ts";
 *
 * const events = new Listeners<number>();
 * const heard: number[] = [];
 * const stop = events.listen((n) => heard.push(n));
 * events.emit(1);
 * stop();
 * events.emit(2);
 * heard; // [1]
 * ```
 */
export class Listeners<T> {
  #listeners = new Set<(event: T) => void>();

  /**
   * Call `listener` on each event from now on; returns the function that stops it. A
   * listener already listening is not added twice.
   */
  listen(listener: (event: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tell every listener of `event`; a listener's failure is its own. */
  emit(event: T): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch { /* a listener's failure is its own */ }
    }
  }

  /** How many listen now. */
  get size(): number {
    return this.#listeners.size;
  }
}
