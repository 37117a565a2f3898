// Public signing keys from auth's JWKS, held as crypto KeyObjects per `kid`:
// jsonwebtoken given a PEM rebuilds the key on every verify (~0.5 ms), a KeyObject
// is reused (docs/design.md §3.3).
//
// No request ever waits for a refresh of keys it already has (docs/design.md §9): once the
// set is older than `cacheMaxAgeMs` a refresh starts in the background and the held
// keys keep verifying meanwhile, and for as long as auth cannot be reached. A failed
// refresh is retried with exponential backoff and jitter, so an outage costs auth a
// handful of requests per instance instead of one per token, and its return is not
// met by every instance at the same instant. Only a token naming a kid we do not hold
// waits for a fetch (key rotation): those fetches are rate-limited, coalesced, and
// not tried at all while a failed fetch is backing off, so a flood of made-up kids
// cannot hammer auth.
//
// warm() fetches the keys at startup, in the background, so the first request does not
// pay the fetch. It goes through the same refresh (coalesced with a request's fetch, the
// same backoff): a failed warm-up is tried again when its backoff ends, until keys are
// held (auth may start after the service), and then never again: from there on the
// store's own refreshes keep the keys.
//
// Written on node:crypto + fetch rather than jwks-rsa: jwks-rsa 4 requires the
// ESM-only `jose` 6, which jest's CommonJS runtime cannot load on Node 20.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { DependencyUnavailableError } from './errors';
import type { Logger } from './logger';

export interface JwksKeyStoreOptions {
  jwksUri: string;
  /** Keys older than this are refreshed in the background (and used meanwhile); default 10 min. */
  cacheMaxAgeMs?: number;
  /** Timeout of one JWKS request; default 2 s. */
  fetchTimeoutMs?: number;
  /** At most this many fetches per minute triggered by unknown kids; default 10. */
  refetchesPerMinute?: number;
  /** First wait after a failed fetch; doubled per further failure; default 1 s. */
  retryBaseMs?: number;
  /** Longest wait between failed fetches; default 60 s. */
  retryMaxMs?: number;
  logger?: Logger;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  now?: () => number;
  /** Injected for tests; default Math.random (the jitter of the backoff). */
  random?: () => number;
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
  /**
   * Fetches the keys now unless some are held, without anyone having to wait: resolves
   * when this attempt settled, never rejects. A failure is retried when its backoff
   * ends until keys are held (a timer that does not hold the process open).
   */
  warm(): Promise<void>;
}

/**
 * The wait before retry `failures` (1 = after the first failure): base·2^(failures-1)
 * capped at max, of which a random half is taken off ("equal jitter"), so instances
 * that failed together do not retry together and no wait is shorter than half.
 */
export function backoffDelayMs(
  failures: number,
  options: { baseMs: number; maxMs: number; random: () => number },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + (ceiling / 2) * options.random();
}

export function createJwksKeyStore(options: JwksKeyStoreOptions): JwksKeyStore {
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? 600_000;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 2_000;
  const refetchesPerMinute = options.refetchesPerMinute ?? 10;
  const backoff = {
    baseMs: options.retryBaseMs ?? 1_000,
    maxMs: options.retryMaxMs ?? 60_000,
    random: options.random ?? Math.random,
  };
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;

  let keys = new Map<string, JwksKey>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let failures = 0;
  /** No fetch starts before this (a failed fetch is backing off). */
  let retryAt = Number.NEGATIVE_INFINITY;
  const refetchTimes: number[] = [];
  /** The warm-up's retry, set while a failed warm-up waits out its backoff. */
  let warmRetry: NodeJS.Timeout | undefined;

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
    inFlight ??= fetchKeys()
      .then(
        () => {
          failures = 0;
          retryAt = Number.NEGATIVE_INFINITY;
        },
        (err: unknown) => {
          failures += 1;
          const waitMs = backoffDelayMs(failures, backoff);
          retryAt = now() + waitMs;
          options.logger?.warn(
            { err, failures, retryInMs: Math.round(waitMs), heldKeys: keys.size },
            'JWKS refresh failed; held keys stay in use',
          );
          throw err;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  function backingOff(): boolean {
    return now() < retryAt;
  }

  function mayRefetch(): boolean {
    const cutoff = now() - 60_000;
    while (refetchTimes.length > 0 && (refetchTimes[0] ?? 0) < cutoff) refetchTimes.shift();
    if (refetchTimes.length >= refetchesPerMinute) return false;
    refetchTimes.push(now());
    return true;
  }

  /** Starts a refresh of aging keys without anyone waiting for it. */
  function refreshInBackground(): void {
    if (inFlight || backingOff() || now() - fetchedAt < cacheMaxAgeMs) return;
    refresh().catch(() => undefined); // logged in refresh(); the next request retries after the backoff
  }

  function warm(): Promise<void> {
    if (keys.size > 0) return Promise.resolve();
    if (!inFlight && backingOff()) {
      warmAfterBackoff();
      return Promise.resolve();
    }
    // joins a fetch already under way (a request's) instead of starting another
    return refresh().catch(() => {
      if (keys.size === 0) warmAfterBackoff(); // logged in refresh()
    });
  }

  function warmAfterBackoff(): void {
    if (warmRetry) return;
    warmRetry = setTimeout(
      () => {
        warmRetry = undefined;
        void warm();
      },
      Math.max(0, retryAt - now()),
    );
    warmRetry.unref();
  }

  function unavailable(): DependencyUnavailableError {
    return new DependencyUnavailableError('The token signing keys cannot be fetched');
  }

  return {
    warm,
    async getKey(kid) {
      const known = keys.get(kid);
      if (known) {
        refreshInBackground();
        return known;
      }
      // A kid we do not hold: a rotated key (fetch and wait), or a made-up one.
      if (inFlight) {
        await inFlight.catch(() => undefined);
        const found = keys.get(kid);
        if (found || keys.size > 0) return found;
        throw unavailable();
      }
      if (backingOff()) {
        // auth just failed us: answer at once instead of queueing on it
        if (keys.size === 0) throw unavailable();
        return undefined;
      }
      if (keys.size > 0 && !mayRefetch()) return undefined;
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
