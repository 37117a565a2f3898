// Sends to one conversation run one after another inside this process. Without it,
// n concurrent sends would all read the same highest seq and retry against each
// other (O(n²) inserts); with it they take consecutive seqs in one insert each. The
// unique index still decides races between instances. Each key also carries a
// context (the seq hint) that lives exactly as long as work is queued for it.
//
// The queue is bounded and sheds work nobody waits for (README "Overload"):
// - at most `maxPerKey` tasks (waiting or running) per key; one more is refused at once;
// - a task whose `signal` aborts while it waits (its request was answered at the
//   deadline, or the client went away) leaves the queue at that moment, and one whose
//   `startBy` has passed when its turn comes is dropped: neither ever runs;
// - a task that would, by the queue's recent pace (a moving average of task durations),
//   only get its turn after its `startBy`, or finish after its `finishBy`, is refused
//   at once ('late') rather than left to wait for nothing.
// Tasks queued with runBatched under the same `kind` are run together: the one whose
// turn comes takes the key's waiting tasks of its kind along (up to `maxBatch`, each
// still dropped if aborted or past due) and runs them as ONE call that settles each on
// its own (sends to one conversation become one insertMany).
export type QueueRejectionReason = 'key_full' | 'aborted' | 'late';

/** Why a task was refused or dropped before it ran (it did nothing). */
export class QueueRejection extends Error {
  constructor(readonly reason: QueueRejectionReason) {
    super(`queued task not run: ${reason}`);
    this.name = 'QueueRejection';
  }
}

export interface RunOptions {
  /** Aborted when nobody waits for the result any more: the task is dropped if not started. */
  signal?: AbortSignal | undefined;
  /** Epoch ms after which the task must not start any more. */
  startBy?: number | undefined;
  /**
   * Epoch ms by which the task should have finished: it is refused at once when, by the
   * recent pace, it would not, and dropped if this has passed when its turn comes.
   */
  finishBy?: number | undefined;
}

/** One outcome per item of a batch, in the items' order. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface Batch<C, I, T> {
  /** Tasks of the same kind are batched; the first one's `run` runs them all. */
  kind: string;
  item: I;
  run(context: C, items: I[]): Promise<Settled<T>[]>;
}

export interface SerialQueue<C> {
  /** Runs `task` after the key's earlier tasks; rejects with QueueRejection when not run. */
  run<T>(key: string, task: (context: C) => Promise<T>, options?: RunOptions): Promise<T>;
  /** Like run, batched with the key's waiting tasks of the same kind (see above). */
  runBatched<I, T>(key: string, batch: Batch<C, I, T>, options?: RunOptions): Promise<T>;
  /** Keys with queued work (for tests: the map must not grow without bound). */
  readonly size: number;
  /** Tasks waiting or running, over every key. */
  readonly queued: number;
}

export interface SerialQueueOptions {
  /** Tasks waiting or running per key at most; default unbounded. */
  maxPerKey?: number;
  /** Tasks running at once per key; default 1 (one after another). */
  concurrency?: number;
  /** Tasks of one kind run as one batch at most; default 50. */
  maxBatch?: number;
  now?: () => number;
}

interface Job<C> {
  task: (context: C) => Promise<unknown>;
  batch?: Batch<C, unknown, unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  startBy: number | undefined;
  finishBy: number | undefined;
  detach(): void;
}

interface Lane<C> {
  waiting: Job<C>[];
  running: number;
  context: C;
}

export function createSerialQueue<C>(
  newContext: () => C,
  options: SerialQueueOptions = {},
): SerialQueue<C> {
  const maxPerKey = options.maxPerKey ?? Infinity;
  const concurrency = options.concurrency ?? 1;
  const maxBatch = options.maxBatch ?? 50;
  const now = options.now ?? Date.now;
  const lanes = new Map<string, Lane<C>>();
  let queued = 0;
  // moving average of how long a task runs, ms; undefined until one has finished
  let averageMs: number | undefined;

  function record(ms: number): void {
    averageMs = averageMs === undefined ? ms : averageMs * 0.8 + ms * 0.2;
  }

  /**
   * Whether a task queued now would, by the recent pace, start after its startBy or
   * finish after its finishBy. Only when others are ahead of it: a task with nobody
   * ahead always gets its try, so a stale pace can never lock the queue.
   */
  function wouldBeLate(lane: Lane<C> | undefined, startBy?: number, finishBy?: number): boolean {
    if (!lane || averageMs === undefined) return false;
    const ahead = lane.waiting.length + lane.running - (concurrency - 1);
    if (ahead <= 0) return false;
    const start = now() + Math.ceil(ahead / concurrency) * averageMs;
    if (startBy !== undefined && start > startBy) return true;
    return finishBy !== undefined && start + averageMs > finishBy;
  }

  /** Whether it is too late to start a task now: past its startBy or finishBy. */
  function pastDue(startBy?: number, finishBy?: number): boolean {
    const at = now();
    return (startBy !== undefined && at > startBy) || (finishBy !== undefined && at > finishBy);
  }

  function settle(key: string, lane: Lane<C>): void {
    if (lane.running === 0 && lane.waiting.length === 0 && lanes.get(key) === lane) {
      lanes.delete(key);
    }
  }

  function next(key: string, lane: Lane<C>): void {
    while (lane.running < concurrency) {
      const job = lane.waiting.shift();
      if (!job) break;
      job.detach();
      if (pastDue(job.startBy, job.finishBy)) {
        queued -= 1;
        job.reject(new QueueRejection('late'));
        continue;
      }
      const jobs = [job];
      while (
        job.batch &&
        jobs.length < maxBatch &&
        lane.waiting[0]?.batch?.kind === job.batch.kind
      ) {
        const more = lane.waiting.shift()!;
        more.detach();
        if (pastDue(more.startBy, more.finishBy)) {
          queued -= 1;
          more.reject(new QueueRejection('late'));
        } else jobs.push(more);
      }
      lane.running += 1;
      const context = lane.context;
      const started = now();
      // async: a task that throws synchronously rejects like any other
      const done = job.batch
        ? (async () =>
            job.batch!.run(
              context,
              jobs.map((j) => j.batch!.item),
            ))().then(
            (outcomes) =>
              jobs.forEach((j, i) => {
                const outcome = outcomes[i];
                if (outcome?.ok) j.resolve(outcome.value);
                else j.reject(outcome ? outcome.error : new Error('batch gave no outcome'));
              }),
            (err: unknown) => jobs.forEach((j) => j.reject(err)),
          )
        : (async () => job.task(context))().then(job.resolve, job.reject);
      void done.finally(() => {
        // per task: a batch of n took the time n tasks ahead of a newcomer will take
        record((now() - started) / jobs.length);
        queued -= jobs.length;
        lane.running -= 1;
        next(key, lane);
      });
    }
    settle(key, lane);
  }

  function enqueue<T>(
    key: string,
    task: (context: C) => Promise<T>,
    batch: Batch<C, unknown, unknown> | undefined,
    runOptions: RunOptions,
  ): Promise<T> {
    const { signal, startBy, finishBy } = runOptions;
    if (signal?.aborted) return Promise.reject(new QueueRejection('aborted'));
    if (pastDue(startBy, finishBy)) return Promise.reject(new QueueRejection('late'));
    let lane = lanes.get(key);
    if (lane && lane.waiting.length + lane.running >= maxPerKey) {
      return Promise.reject(new QueueRejection('key_full'));
    }
    if (wouldBeLate(lane, startBy, finishBy)) {
      return Promise.reject(new QueueRejection('late'));
    }
    if (!lane) {
      lane = { waiting: [], running: 0, context: newContext() };
      lanes.set(key, lane);
    }
    const current = lane;
    return new Promise<T>((resolve, reject) => {
      const job: Job<C> = {
        task,
        ...(batch ? { batch } : {}),
        resolve: resolve as (value: unknown) => void,
        reject,
        startBy,
        finishBy,
        detach: () => undefined,
      };
      if (signal) {
        const onAbort = () => {
          const at = current.waiting.indexOf(job);
          if (at === -1) return;
          current.waiting.splice(at, 1);
          queued -= 1;
          reject(new QueueRejection('aborted'));
          settle(key, current);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      current.waiting.push(job);
      queued += 1;
      next(key, current);
    });
  }

  return {
    run<T>(key: string, task: (context: C) => Promise<T>, runOptions: RunOptions = {}): Promise<T> {
      return enqueue(key, task, undefined, runOptions);
    },
    runBatched<I, T>(key: string, batch: Batch<C, I, T>, runOptions: RunOptions = {}): Promise<T> {
      const noTask = () => Promise.reject(new Error('a batched task runs through its batch'));
      return enqueue<T>(key, noTask, batch as Batch<C, unknown, unknown>, runOptions);
    },
    get size() {
      return lanes.size;
    },
    get queued() {
      return queued;
    },
  };
}
