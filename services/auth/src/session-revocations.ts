// "Log out everywhere" (logout-all, password change) and its announcement to the
// websocket instances, which must not be lost when RabbitMQ is down at that moment
// (docs/design.md §9.3). Each revocation is first stored in `session_revocations` with the
// event exactly as it will be published; then the user's mark moves
// (users.sessionsRevokedAt) and every refresh-token family is revoked; then the event
// is published at once. A record whose event the broker has not confirmed stays
// pending, and a relay pass (every instance runs one) republishes it once it is older
// than the grace period; the relay of any instance picks up what another left, even
// after a crash between the store and the publish. Delivery is at least once: the
// event id is the record's id, and consumers dedupe by it.
//
// The record is written first on purpose: if the process dies between the writes,
// the announcement still goes out and sockets close (clients refresh and reconnect if
// their session survived); the other order could leave an attacker's socket open.
import { createEvent, type EventOf, type ParleyEvent } from '@parley/contracts';
import type { EventPublisher, Logger } from '@parley/server-kit';
import type { Collection, Db, ObjectId } from 'mongodb';
import type { AuthMetrics } from './auth-metrics';
import type { RefreshTokenStore } from './refresh-token-store';
import type { UserStore } from './user-store';

export const SESSION_REVOCATIONS_COLLECTION = 'session_revocations';

export type RevocationReason = 'logout_all' | 'password_changed';

interface RevocationRecord {
  _id: string; // the event id
  userId: ObjectId;
  reason: RevocationReason;
  revokedAt: Date;
  /** The session_revoked event, as JSON text. */
  event: string;
  /** Set once RabbitMQ confirmed the event; null while it is pending. */
  publishedAt: Date | null;
}

/** The relay's query runs on it. */
export async function ensureSessionRevocationIndexes(db: Db): Promise<void> {
  await db
    .collection(SESSION_REVOCATIONS_COLLECTION)
    .createIndex({ publishedAt: 1, revokedAt: 1 }, { name: 'pending' });
}

export interface SessionRevocations {
  /**
   * Ends every session of the user now and announces it; with `passwordHash` the
   * password changes in the same write as the user's mark. Resolves once stored
   * (the publish runs on; its failure leaves the event to the relay).
   */
  revokeAll(
    userId: ObjectId,
    reason: RevocationReason,
    options?: { passwordHash?: string },
  ): Promise<Date>;
  /** One relay pass: publishes what is still pending after the grace; resolves with how many. */
  relayPending(): Promise<number>;
  /** Waits for the publishes in flight (shutdown, tests). */
  drain(): Promise<void>;
}

export interface SessionRevocationsOptions {
  db: Db;
  users: UserStore;
  refreshTokens: RefreshTokenStore;
  publisher: EventPublisher<ParleyEvent>;
  logger: Logger;
  metrics: AuthMetrics;
  /** A pending event younger than this is left to the fast path; default 2 s. */
  graceMs?: number;
  /** Records per relay pass; default 100. */
  batchSize?: number;
  now: () => Date;
}

export function createSessionRevocations(options: SessionRevocationsOptions): SessionRevocations {
  const { users, refreshTokens, publisher, metrics, now } = options;
  const log = options.logger.child({ component: 'session-revocations' });
  const records: Collection<RevocationRecord> = options.db.collection<RevocationRecord>(
    SESSION_REVOCATIONS_COLLECTION,
  );
  const graceMs = options.graceMs ?? 2_000;
  const batchSize = options.batchSize ?? 100;
  const inFlight = new Map<string, Promise<boolean>>();

  function publish(record: Pick<RevocationRecord, '_id' | 'event'>): Promise<boolean> {
    const running = inFlight.get(record._id);
    if (running) return running;
    const attempt = (async () => {
      const event = JSON.parse(record.event) as EventOf<'session_revoked'>;
      try {
        await publisher.publish(event);
      } catch (err) {
        metrics.sessionRevokedPublish('failed');
        log.warn({ err, eventId: event.id }, 'session_revoked not confirmed; the relay retries it');
        return false;
      }
      metrics.sessionRevokedPublish('published');
      try {
        await records.updateOne({ _id: record._id }, { $set: { publishedAt: now() } });
      } catch (err) {
        // it went out; the relay sends it once more later, which consumers dedupe
        log.warn({ err, eventId: event.id }, 'published session_revoked could not be marked');
      }
      return true;
    })().finally(() => inFlight.delete(record._id));
    inFlight.set(record._id, attempt);
    return attempt;
  }

  // Tokens are dated in whole seconds, and one issued in the second of the previous
  // revocation is dated the second after it (token-issuer.ts). A new revocation in
  // that same second must still cover such a token, so the mark never stays below
  // the second after the previous one: the event carries the same mark, so the
  // websocket instances refuse the same tokens as auth.
  async function revocationMark(userId: ObjectId): Promise<Date> {
    const at = now();
    const previous = (await users.findById(userId.toHexString()))?.sessionsRevokedAt;
    if (previous === undefined) return at;
    const covered = (Math.floor(previous.getTime() / 1000) + 1) * 1000;
    return at.getTime() >= covered ? at : new Date(covered);
  }

  return {
    async revokeAll(userId, reason, revokeOptions = {}) {
      const revokedAt = await revocationMark(userId);
      const event = createEvent(
        'session_revoked',
        { userId: userId.toHexString(), revokedAt: revokedAt.toISOString() },
        [userId.toHexString()],
        { occurredAt: revokedAt },
      );
      const record: RevocationRecord = {
        _id: event.id,
        userId,
        reason,
        revokedAt,
        event: JSON.stringify(event),
        publishedAt: null,
      };
      await records.insertOne(record);
      await users.revokeSessions(userId, revokedAt, revokeOptions.passwordHash);
      await refreshTokens.revokeAllOfUser(userId, revokedAt);
      void publish(record);
      return revokedAt;
    },

    async relayPending() {
      const due = new Date(now().getTime() - graceMs);
      const pending = await records
        .find({ publishedAt: null, revokedAt: { $lte: due } }, { projection: { event: 1 } })
        .sort({ revokedAt: 1 })
        .limit(batchSize)
        .toArray();
      const results = await Promise.all(pending.map((record) => publish(record)));
      const published = results.filter(Boolean).length;
      if (published > 0) log.info({ published }, 'relay published pending session_revoked events');
      return published;
    },

    async drain() {
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
