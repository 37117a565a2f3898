// The logged-in session: tokens, their expiry, and the single-flight refresh that
// every REST call and the realtime connection share. Refreshing rotates the refresh
// token (docs/design.md §3.4), so two refreshes racing would revoke the family; here
// concurrent callers always share one.
import type { TokenResponse, User } from '@parley/contracts';
import { isSessionRejected } from './errors';

/** What an app persists to stay logged in across restarts. */
export interface SessionState {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, ms since the epoch. */
  expiresAt: number;
  user: User;
}

export function sessionFromTokens(tokens: TokenResponse, now: number): SessionState {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: now + tokens.expiresIn * 1000,
    user: tokens.user,
  };
}

/** What the realtime connection needs from a session. */
export interface TokenSource {
  /** A usable access token, refreshed first when it is close to expiry; undefined when logged out. */
  accessToken(): Promise<string | undefined>;
  /** Refresh now (single-flight). With `staleAccessToken`, a refresh already done since it was issued is reused. */
  refresh(staleAccessToken?: string): Promise<unknown>;
  /** When a proactive refresh is due, ms since the epoch; undefined when logged out. */
  refreshDueAt(): number | undefined;
  /** Called after every change of session (login, refresh, logout); returns an unsubscribe. */
  subscribe(listener: (session: SessionState | null) => void): () => void;
}

export interface SessionManagerOptions {
  refresh: (refreshToken: string) => Promise<TokenResponse>;
  now: () => number;
  /** Refresh this long before expiry (capped at half the token's remaining life). */
  refreshMarginMs: number;
  initial?: SessionState | null | undefined;
}

export class SessionManager implements TokenSource {
  #state: SessionState | null = null;
  #refreshDueAt: number | undefined;
  #inFlight: Promise<SessionState> | null = null;
  readonly #listeners = new Set<(session: SessionState | null) => void>();
  readonly #options: SessionManagerOptions;

  constructor(options: SessionManagerOptions) {
    this.#options = options;
    if (options.initial) this.#assign(options.initial);
  }

  get current(): SessionState | null {
    return this.#state;
  }

  set(state: SessionState | null): void {
    this.#assign(state);
    for (const listener of this.#listeners) listener(state);
  }

  subscribe(listener: (session: SessionState | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  refreshDueAt(): number | undefined {
    return this.#refreshDueAt;
  }

  async accessToken(): Promise<string | undefined> {
    const state = this.#state;
    if (state === null) return undefined;
    if (this.#refreshDueAt === undefined || this.#options.now() < this.#refreshDueAt) {
      return state.accessToken;
    }
    try {
      return (await this.refresh(state.accessToken)).accessToken;
    } catch (error) {
      // A refresh that failed for a passing reason leaves a token that still works.
      if (!isSessionRejected(error) && this.#options.now() < state.expiresAt) {
        return state.accessToken;
      }
      throw error;
    }
  }

  refresh(staleAccessToken?: string): Promise<SessionState> {
    const state = this.#state;
    if (state === null) return Promise.reject(new Error('not logged in'));
    if (staleAccessToken !== undefined && state.accessToken !== staleAccessToken) {
      return Promise.resolve(state);
    }
    if (this.#inFlight !== null) return this.#inFlight;
    const inFlight = (async () => {
      try {
        const tokens = await this.#options.refresh(state.refreshToken);
        const next = sessionFromTokens(tokens, this.#options.now());
        this.set(next);
        return next;
      } catch (error) {
        // The refresh token was refused (rotated, revoked, expired): logged out.
        if (isSessionRejected(error) && this.#state === state) this.set(null);
        throw error;
      } finally {
        this.#inFlight = null;
      }
    })();
    this.#inFlight = inFlight;
    return inFlight;
  }

  #assign(state: SessionState | null): void {
    this.#state = state;
    if (state === null) {
      this.#refreshDueAt = undefined;
      return;
    }
    const remaining = state.expiresAt - this.#options.now();
    this.#refreshDueAt =
      state.expiresAt - Math.max(0, Math.min(this.#options.refreshMarginMs, remaining / 2));
  }
}
