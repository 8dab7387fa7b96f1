/**
 * The chained crash handler's runs (`install --chain`) as the daemon records them, for
 * `watch`: the notification endpoint publishes, each watcher listens.
 *
 * @module
 */
import type { ChainEvent } from "../protocol/watch.ts";

/** Listeners of {@linkcode ChainEvent}s. */
export class ChainFateEvents {
  #listeners = new Set<(event: ChainEvent) => void>();

  /** Call `listener` on each recorded run; returns the function that stops it. */
  listen(listener: (event: ChainEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tell every listener. */
  publish(event: ChainEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch { /* a listener's failure is its own */ }
    }
  }
}
