/**
 * Actions on one session run one at a time, in arrival order. A request identical to one
 * that is queued but not started joins it (one snapshot serves both crashes); a request
 * never joins a job that has started, since the events of its crash might be missing
 * from that job's snapshot.
 *
 * @module
 */

interface Job<T> {
  key: string;
  run: () => Promise<T>;
  started: boolean;
  waiters: { resolve(v: T): void; reject(e: unknown): void }[];
}

/** Serialises actions per session, coalescing identical queued ones. */
export class SessionActionQueue {
  #queues = new Map<string, Job<unknown>[]>();
  #idle: (() => void)[] = [];

  /**
   * Run `run` on `session` after the jobs ahead of it, or join a queued, unstarted job
   * with the same `key`. Resolves (or rejects) with that job's result.
   */
  submit<T>(session: string, key: string, run: () => Promise<T>): Promise<T> {
    let queue = this.#queues.get(session);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(session, queue);
    }
    const joinable = queue.find((j) => !j.started && j.key === key) as Job<T> | undefined;
    return new Promise<T>((resolve, reject) => {
      if (joinable !== undefined) {
        joinable.waiters.push({ resolve, reject });
        return;
      }
      const job: Job<T> = { key, run, started: false, waiters: [{ resolve, reject }] };
      queue.push(job as Job<unknown>);
      if (queue.length === 1) this.#drain(session, queue);
    });
  }

  /** Number of jobs queued or running, over all sessions. */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Resolves once no job is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(session: string, queue: Job<unknown>[]): Promise<void> {
    while (queue.length > 0) {
      const job = queue[0];
      job.started = true;
      try {
        const value = await job.run();
        for (const w of job.waiters) w.resolve(value);
      } catch (err) {
        for (const w of job.waiters) w.reject(err);
      }
      queue.shift();
    }
    this.#queues.delete(session);
    if (this.pending === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
