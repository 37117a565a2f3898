// Public signing keys from auth's JWKS, held as crypto KeyObjects per `kid`:
// jsonwebtoken given a PEM rebuilds the key on every verify (~0.5 ms), a KeyObject
// is reused (docs/design.md §3.3). The set is cached for `cacheMaxAgeMs`, refetched when a
// token names an unknown kid (key rotation), with refetches rate-limited so a flood
// of tokens with made-up kids cannot hammer auth, and concurrent fetches coalesced.
//
// Written on node:crypto + fetch rather than jwks-rsa: jwks-rsa 4 requires the
// ESM-only `jose` 6, which jest's CommonJS runtime cannot load on Node 20.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { DependencyUnavailableError } from './errors';
import type { Logger } from './logger';

export interface JwksKeyStoreOptions {
  jwksUri: string;
  /** How long a fetched key set is trusted before it is fetched again; default 10 min. */
  cacheMaxAgeMs?: number;
  /** Timeout of one JWKS request; default 2 s. */
  fetchTimeoutMs?: number;
  /** At most this many fetches per minute triggered by unknown kids; default 10. */
  refetchesPerMinute?: number;
  logger?: Logger;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  now?: () => number;
}

export interface JwksKey {
  kid: string;
  key: KeyObject;
  /** The JWK's `alg`, when it names one; tokens must then use exactly it. */
  alg: string | undefined;
}

export interface JwksKeyStore {
  /** The key for `kid`, or undefined when the (refreshed) JWKS has none. */
  getKey(kid: string): Promise<JwksKey | undefined>;
}

export function createJwksKeyStore(options: JwksKeyStoreOptions): JwksKeyStore {
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? 600_000;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 2_000;
  const refetchesPerMinute = options.refetchesPerMinute ?? 10;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;

  let keys = new Map<string, JwksKey>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  const refetchTimes: number[] = [];

  async function fetchKeys(): Promise<void> {
    let body: unknown;
    try {
      const response = await doFetch(options.jwksUri, {
        signal: AbortSignal.timeout(fetchTimeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`JWKS endpoint answered ${response.status}`);
      body = await response.json();
    } catch (err) {
      throw new DependencyUnavailableError('The token signing keys cannot be fetched', err);
    }
    keys = parseJwks(body, options.logger);
    fetchedAt = now();
  }

  function refresh(): Promise<void> {
    inFlight ??= fetchKeys().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function mayRefetch(): boolean {
    const cutoff = now() - 60_000;
    while (refetchTimes.length > 0 && (refetchTimes[0] ?? 0) < cutoff) refetchTimes.shift();
    if (refetchTimes.length >= refetchesPerMinute) return false;
    refetchTimes.push(now());
    return true;
  }

  return {
    async getKey(kid) {
      const stale = now() - fetchedAt > cacheMaxAgeMs;
      if (stale) {
        try {
          await refresh();
        } catch (err) {
          // Auth briefly down: keep trusting keys we already hold rather than
          // refusing every user; an unknown kid still fails below.
          const known = keys.get(kid);
          if (known) {
            options.logger?.warn({ err }, 'JWKS refresh failed, using cached key');
            return known;
          }
          throw err;
        }
        return keys.get(kid);
      }
      const known = keys.get(kid);
      if (known) return known;
      if (inFlight) {
        await inFlight;
        return keys.get(kid);
      }
      if (!mayRefetch()) return undefined;
      await refresh();
      return keys.get(kid);
    },
  };
}

function parseJwks(body: unknown, logger: Logger | undefined): Map<string, JwksKey> {
  const parsed = new Map<string, JwksKey>();
  const list: unknown =
    typeof body === 'object' && body !== null && 'keys' in body ? body.keys : undefined;
  if (!Array.isArray(list)) {
    throw new DependencyUnavailableError('The JWKS endpoint answered without a key list');
  }
  for (const jwk of list as unknown[]) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    const { kid, use, alg, kty } = jwk as Record<string, unknown>;
    if (typeof kid !== 'string' || (use !== undefined && use !== 'sig')) continue;
    if (kty !== 'RSA' && kty !== 'EC') continue;
    try {
      const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      parsed.set(kid, { kid, key, alg: typeof alg === 'string' ? alg : undefined });
    } catch (err) {
      logger?.warn({ err, kid }, 'ignoring a JWKS key that cannot be imported');
    }
  }
  return parsed;
}
