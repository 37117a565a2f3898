// The loop that guarantees "stored means announced" for the events kept in outbox
// fields (edits, reactions, membership, read markers; new messages have their own
// relay, message-relay.ts): it republishes events still pending after the grace
// period and refreshes the pending gauge. A pass costs a query per outbox collection,
// so the loop makes one every interval only while there is reason to (the last pass
// found pending events, or this process failed a publish lately: Outbox.wantsPass),
// and otherwise every IDLE_PASS_EVERY intervals, which is how it finds what a dead
// instance left. The loop is the kit's periodic task: one pass at a time, a failing
// pass (MongoDB down) logged and the next one retrying, stop() waiting for the pass.
import { createPeriodicTask, type Logger } from '@parley/server-kit';
import type { ChatMetrics } from '../chat-metrics';
import type { Outbox } from './outbox';

export interface OutboxRelay {
  start(): void;
  /** Stops the timer and waits for a pass in progress. Idempotent. */
  stop(): Promise<void>;
  /** Runs one pass now, or joins the one running (tests): the events it republished. */
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

  // Counting pending events costs a query per outbox collection (a scan on FerretDB),
  // so the gauge is refreshed when there is something to count, and otherwise only
  // every GAUGE_REFRESH_PASSES passes (about 30 s while idle).
  let lastPending = 0;
  let passesSinceCount = 0;

  async function pass(): Promise<number> {
    const published = await outbox.relayPending();
    passesSinceCount++;
    if (published > 0 || lastPending > 0 || passesSinceCount >= GAUGE_REFRESH_PASSES) {
      lastPending = await outbox.countPending();
      passesSinceCount = 0;
      metrics.outboxPending.set(lastPending);
    }
    return published;
  }

  let idleIntervals = 0;
  const loop = createPeriodicTask({
    name: 'outbox-relay',
    intervalMs: options.intervalMs,
    run: pass,
    // a pass every interval while there is reason to, else every IDLE_PASS_EVERY intervals
    due() {
      if (!outbox.wantsPass() && ++idleIntervals < IDLE_PASS_EVERY) return false;
      idleIntervals = 0;
      return true;
    },
    logger: options.logger,
  });

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    // a failed pass (logged) published nothing
    runOnce: async () => (await loop.runOnce()) ?? 0,
  };
}
