// Load shedding for POST /chat/send (README "Overload"). When MongoDB cannot keep up,
// sends would otherwise pile up in this process — in the per-conversation queue and
// in the driver's wait for a pooled connection — long after their requests were
// answered 503 at the deadline, and memory grows with them. So:
// - at most `maxPending` sends are worked on at once in this instance; one more is
//   answered 503 dependency_unavailable with Retry-After at once, before any I/O;
// - of those, at most `maxActive` do their lookups (idempotency key, conversation,
//   thread parent) at once; the others wait their turn here, where waiting is cheap and
//   can be abandoned, instead of in the driver's queue for a pooled connection, where
//   it cannot: so the database is never handed more than it can answer in time, and
//   the sends it does get finish before their deadline;
// - at most `maxQueuedPerConversation` sends wait for (or do) their write in one
//   conversation (send-queue.ts); one more is answered the same way;
// - a send nobody waits for any more (its request was answered at the deadline or the
//   client went away) stops at its next step and never reaches the write, and a
//   waiting send that by the recent pace would not be done `minTimeLeftMs` before its
//   deadline is refused at once, or dropped when its turn comes. Nothing is reserved before the write, so a dropped send leaves
//   nothing behind: no message, no seq.
// 503 (not 429): the caller did nothing wrong, this instance is overloaded; the
// per-user rate limit is the 429 (send-rate-limit.ts).
import { DependencyUnavailableError, TIMED_OUT } from '@parley/server-kit';
import type { ChatMetrics } from '../chat-metrics';
import { QueueRejection, createSerialQueue } from './send-queue';

export interface SendLimits {
  /** Sends this instance works on at once, from the first lookup to the answer. */
  maxPending: number;
  /** Of those, sends doing their lookups at once (the others wait, in order). */
  maxActive: number;
  /** Sends waiting for, or doing, their write in one conversation. */
  maxQueuedPerConversation: number;
  /** A queued send starts its write only with at least this much of its deadline left. */
  minTimeLeftMs: number;
}

/** Roomy enough for legitimate bursts (200 concurrent sends into one room pass). */
export const DEFAULT_SEND_LIMITS: SendLimits = {
  maxPending: 1_000,
  maxActive: 8,
  maxQueuedPerConversation: 300,
  minTimeLeftMs: 250,
};

export type ShedReason = 'overloaded' | 'conversation_busy' | 'deadline' | 'client_gone';

/** What /chat/send knows about whether its caller still waits. */
export interface SendLifetime {
  /** Aborts when the response is finished or the connection closed. */
  signal?: AbortSignal | undefined;
  /** Epoch ms at which the request is answered 503 by the kit's deadline. */
  deadlineAt?: number | undefined;
}

const DETAILS: Record<ShedReason, string> = {
  overloaded: 'The chat service is overloaded; try again',
  conversation_busy: 'Too many messages are waiting to be stored in this conversation; try again',
  deadline: 'The message could not be stored in time; try again',
  client_gone: 'The client went away before the message was stored',
};

export interface SendAdmission {
  /** Admits one send (release it when done); throws 503 past maxPending. */
  enter(): () => void;
  /** Runs a send's lookups, at most maxActive at once; 503 when dropped while waiting. */
  lookups<T>(lifetime: SendLifetime, work: () => Promise<T>): Promise<T>;
  /** Throws 503 when nobody waits for this send any more. */
  ensureWanted(lifetime: SendLifetime): void;
  /** The 503 for a queued write that did not run; other errors as they are. */
  fromQueue(err: unknown, lifetime: SendLifetime): unknown;
  /**
   * The epoch ms by which a send's database work (lookups, then its write) should be
   * done, by the recent pace: `minTimeLeftMs` before the deadline, if there is one.
   */
  doneBy(lifetime: SendLifetime): number | undefined;
  readonly pending: number;
}

export function createSendAdmission(limits: SendLimits, metrics: ChatMetrics): SendAdmission {
  let pending = 0;
  const active = createSerialQueue<undefined>(() => undefined, {
    concurrency: limits.maxActive,
  });

  function shed(reason: ShedReason): DependencyUnavailableError {
    metrics.sendsShed.inc({ reason });
    return new DependencyUnavailableError(DETAILS[reason]);
  }

  function goneReason(lifetime: SendLifetime): ShedReason {
    // the signal aborts when the response closes: answered by the deadline, or cut
    return lifetime.signal?.reason === TIMED_OUT ? 'deadline' : 'client_gone';
  }

  const admission: SendAdmission = {
    enter() {
      if (pending >= limits.maxPending) throw shed('overloaded');
      pending += 1;
      metrics.sendsPending.set(pending);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        pending -= 1;
        metrics.sendsPending.set(pending);
      };
    },
    async lookups(lifetime, work) {
      try {
        // the lookups must be done in time for the write to start
        return await active.run('lookups', work, {
          signal: lifetime.signal,
          finishBy: admission.doneBy(lifetime),
        });
      } catch (err) {
        throw admission.fromQueue(err, lifetime);
      }
    },
    ensureWanted(lifetime) {
      if (lifetime.signal?.aborted) throw shed(goneReason(lifetime));
    },
    fromQueue(err, lifetime) {
      if (!(err instanceof QueueRejection)) return err;
      if (err.reason === 'key_full') return shed('conversation_busy');
      if (err.reason === 'late') return shed('deadline');
      return shed(goneReason(lifetime));
    },
    doneBy(lifetime) {
      return lifetime.deadlineAt === undefined
        ? undefined
        : lifetime.deadlineAt - limits.minTimeLeftMs;
    },
    get pending() {
      return pending;
    },
  };
  return admission;
}
