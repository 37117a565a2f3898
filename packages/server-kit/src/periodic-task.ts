// A job run every interval, one pass at a time (a relay that republishes what an
// outbox still holds, a sweep): the next pass is scheduled only when the previous one
// settled, a failing pass is logged and the next one retries, and stop() waits for
// the pass in progress. A task with a due() check asks it at each tick and skips the
// pass while there is no reason for one (runOnce() always runs). No timer runs until
// start(); the timer never holds the process open.
import type { Logger } from './logger';

export interface PeriodicTask<T = void> {
  start(): void;
  /** Stops the timer and waits for a pass in progress. Idempotent. */
  stop(): Promise<void>;
  /**
   * Runs one pass now, or joins the one running (tests, and a first pass at startup):
   * its result, or undefined when it failed (logged).
   */
  runOnce(): Promise<T | undefined>;
}

export interface PeriodicTaskOptions<T = void> {
  /** Names the task in its log lines. */
  name: string;
  intervalMs: number;
  run(): Promise<T>;
  /** Asked at each tick: false skips that tick's pass. Default: every tick runs one. */
  due?(): boolean;
  logger: Logger;
}

export function createPeriodicTask<T = void>(options: PeriodicTaskOptions<T>): PeriodicTask<T> {
  const log = options.logger.child({ component: options.name });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T | undefined> | undefined;
  let started = false;
  let stopped = false;

  function runOnce(): Promise<T | undefined> {
    running ??= options
      .run()
      .catch((err: unknown) => {
        log.warn({ err }, `${options.name} pass failed; the next one retries`);
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      if (options.due && !options.due()) return schedule();
      void runOnce().finally(schedule);
    }, options.intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (started || stopped) return;
      started = true;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    runOnce,
  };
}
