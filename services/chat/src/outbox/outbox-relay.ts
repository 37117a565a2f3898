// The loop that guarantees "stored means announced" for the events kept in outbox
// fields (edits, reactions, membership, read markers; new messages have their own
// relay, message-relay.ts): it republishes events still pending after the grace
// period and refreshes the pending gauge. A pass costs a query per outbox collection,
// so the loop makes one every interval only while there is reason to (the last pass
// found pending events, or this process failed a publish lately: Outbox.wantsPass),
// and otherwise every IDLE_PASS_EVERY intervals, which is how it finds what a dead
// instance left. One pass at a time; a failing pass (MongoDB down) is logged and the
// next one retries.
import type { Logger } from '@parley/server-kit';
import type { ChatMetrics } from '../chat-metrics';
import type { Outbox } from './outbox';

export interface OutboxRelay {
  start(): void;
  /** Stops the timer and waits for a pass in progress. Idempotent. */
  stop(): Promise<void>;
  /** Runs one pass now (tests, and the first pass at startup). */
  runOnce(): Promise<number>;
}

export interface OutboxRelayOptions {
  outbox: Outbox;
  intervalMs: number;
  logger: Logger;
  metrics: ChatMetrics;
}

const GAUGE_REFRESH_PASSES = 3;

/** With nothing to look for, one pass per this many intervals. */
export const IDLE_PASS_EVERY = 10;

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { outbox, metrics } = options;
  const log = options.logger.child({ component: 'outbox-relay' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  // Counting pending events costs a query per outbox collection (a scan on FerretDB),
  // so the gauge is refreshed when there is something to count, and otherwise only
  // every GAUGE_REFRESH_PASSES passes (about 30 s while idle).
  let lastPending = 0;
  let passesSinceCount = 0;

  async function pass(): Promise<number> {
    try {
      const published = await outbox.relayPending();
      passesSinceCount++;
      if (published > 0 || lastPending > 0 || passesSinceCount >= GAUGE_REFRESH_PASSES) {
        lastPending = await outbox.countPending();
        passesSinceCount = 0;
        metrics.outboxPending.set(lastPending);
      }
      return published;
    } catch (err) {
      log.warn({ err }, 'outbox relay pass failed');
      return 0;
    }
  }

  function runOnce(): Promise<number> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  let idleIntervals = 0;
  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      if (!outbox.wantsPass() && ++idleIntervals < IDLE_PASS_EVERY) return schedule();
      idleIntervals = 0;
      void runOnce().finally(schedule);
    }, options.intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (timer || stopped) return;
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
