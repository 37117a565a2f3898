// Pure logic: which access tokens a session_revoked refuses, and for how long.
import { createRevokedSessions } from '../src/revoked-sessions';

describe('revoked sessions', () => {
  const revokedAt = new Date('2030-01-01T00:00:10.500Z');
  const revokedSecond = Math.floor(revokedAt.getTime() / 1000);

  function make(now: { t: number }, maxEntries?: number) {
    return createRevokedSessions({
      ttlMs: 60_000,
      now: () => now.t,
      ...(maxEntries === undefined ? {} : { maxEntries }),
    });
  }

  it('When a user is revoked, then tokens issued up to that second are refused and later ones, or other users, are not', () => {
    const now = { t: revokedAt.getTime() };
    const revoked = make(now);
    revoked.revoke('u1', revokedAt);

    expect(revoked.isRevoked({ userId: 'u1', iat: revokedSecond - 600 })).toBe(true);
    expect(revoked.isRevoked({ userId: 'u1', iat: revokedSecond })).toBe(true);
    expect(revoked.isRevoked({ userId: 'u1', iat: revokedSecond + 1 })).toBe(false);
    expect(revoked.isRevoked({ userId: 'u2', iat: revokedSecond - 600 })).toBe(false);
  });

  it('When the ttl has passed since the revocation, then the entry is gone (those tokens have expired)', () => {
    const now = { t: revokedAt.getTime() };
    const revoked = make(now);
    revoked.revoke('u1', revokedAt);

    now.t += 60_000;

    expect(revoked.isRevoked({ userId: 'u1', iat: revokedSecond })).toBe(false);
    revoked.revoke('u2', new Date(now.t));
    expect(revoked.size).toBe(1);
  });

  it('When an older revocation arrives after a newer one (redelivery, relay), then the newer cut-off stays', () => {
    const now = { t: revokedAt.getTime() + 5_000 };
    const revoked = make(now);
    revoked.revoke('u1', new Date(revokedAt.getTime() + 5_000));
    revoked.revoke('u1', revokedAt);

    expect(revoked.isRevoked({ userId: 'u1', iat: revokedSecond + 3 })).toBe(true);
  });

  it('When a revocation arrives after its ttl, then nothing is kept', () => {
    const now = { t: revokedAt.getTime() + 120_000 };
    const revoked = make(now);
    revoked.revoke('u1', revokedAt);

    expect(revoked.size).toBe(0);
  });

  it('When more users are revoked than the bound, then the oldest entries go first', () => {
    const now = { t: revokedAt.getTime() };
    const revoked = make(now, 2);
    for (const [i, user] of ['a', 'b', 'c'].entries())
      revoked.revoke(user, new Date(revokedAt.getTime() + i * 1000));

    expect(revoked.size).toBe(2);
    expect(revoked.isRevoked({ userId: 'a', iat: revokedSecond })).toBe(false);
    expect(revoked.isRevoked({ userId: 'c', iat: revokedSecond })).toBe(true);
  });
});
