// A job run every interval, one pass at a time (a relay that republishes what an
// outbox still holds, a sweep): the next pass is scheduled only when the previous one
// settled, a failing pass is logged and the next one retries, and stop() waits for
// the pass in progress. No timer runs until start(); the timer never holds the
// process open.
import type { Logger } from './logger';

export interface PeriodicTask {
  start(): void;
  /** Stops the timer and waits for a pass in progress. Idempotent. */
  stop(): Promise<void>;
  /** Runs one pass now, or joins the one running (tests, and a first pass at startup). */
  runOnce(): Promise<void>;
}

export interface PeriodicTaskOptions {
  /** Names the task in its log lines. */
  name: string;
  intervalMs: number;
  run(): Promise<void>;
  logger: Logger;
}

export function createPeriodicTask(options: PeriodicTaskOptions): PeriodicTask {
  const log = options.logger.child({ component: options.name });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let started = false;
  let stopped = false;

  function runOnce(): Promise<void> {
    running ??= options
      .run()
      .catch((err: unknown) => {
        log.warn({ err }, `${options.name} pass failed; the next one retries`);
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
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
