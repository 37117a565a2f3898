// Users whose sessions auth revoked (session_revoked: logout everywhere, password
// change), remembered so that their access tokens issued up to that moment are
// refused at the upgrade and on `auth` frames (docs/design.md §9.3). Those tokens outlive
// the revocation by at most their lifetime, so an entry is kept for `ttlMs` after the
// revocation (set it to at least auth's ACCESS_TOKEN_TTL) and then dropped.
//
// In memory, per instance, fed by the event every instance consumes: enough because
// an instance that starts after a revocation has no sockets of that user yet, and its
// refusal window is short. An instance that was down when the event went out accepts
// such a token until it expires (the REST APIs of chat accept it too).
export interface RevokedSessions {
  /** Records a revocation (a later one wins). */
  revoke(userId: string, revokedAt: Date): void;
  /** True when the token (its `iat`, seconds) was issued at or before the user's revocation. */
  isRevoked(token: { userId: string; iat: number }): boolean;
  readonly size: number;
}

export interface RevokedSessionsOptions {
  /** How long after a revocation its tokens are refused. */
  ttlMs: number;
  /** Bound on the entries kept; the soonest to expire go first. Default 100 000. */
  maxEntries?: number;
  now: () => number;
}

interface Entry {
  /** Seconds since the epoch: tokens with an iat up to this are refused. */
  revokedAtSeconds: number;
  until: number;
}

export function createRevokedSessions(options: RevokedSessionsOptions): RevokedSessions {
  const maxEntries = options.maxEntries ?? 100_000;
  // insertion order is expiry order while revocations arrive in time order; sweep()
  // stops at the first live entry, so a late old event only lives a little longer
  const entries = new Map<string, Entry>();

  function sweep(): void {
    const now = options.now();
    for (const [userId, entry] of entries) {
      if (entry.until > now && entries.size <= maxEntries) break;
      entries.delete(userId);
    }
  }

  return {
    revoke(userId, revokedAt) {
      const until = revokedAt.getTime() + options.ttlMs;
      const previous = entries.get(userId);
      const revokedAtSeconds = Math.floor(revokedAt.getTime() / 1000);
      if (previous && previous.revokedAtSeconds >= revokedAtSeconds) return;
      entries.delete(userId);
      if (until > options.now()) entries.set(userId, { revokedAtSeconds, until });
      sweep();
    },
    isRevoked({ userId, iat }) {
      const entry = entries.get(userId);
      if (!entry || entry.until <= options.now()) return false;
      return iat <= entry.revokedAtSeconds;
    },
    get size() {
      return entries.size;
    },
  };
}
