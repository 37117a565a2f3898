// Per-connection state: who is on the socket, until when their token is good, and
// the two abuse meters (a token bucket for floods, a sliding count of bad frames).
// The clock is injected so the meters are unit-testable without waiting.
import type { WebSocket } from 'ws';

export interface SessionUser {
  userId: string;
  username: string;
}

export interface SocketSession extends SessionUser {
  readonly connectionId: string;
  readonly ws: WebSocket;
  readonly ip: string;
  /** The latest verified access token, forwarded to chat on the user's behalf. */
  token: string;
  /** Token expiry, seconds since the epoch. */
  tokenExp: number;
  /** When that token was issued, seconds since the epoch (a session_revoked compares it). */
  tokenIat: number;
  /** Answered the last heartbeat ping. */
  isAlive: boolean;
  /** Set once the server decided to close; nothing more is sent. */
  closing: boolean;
  /** The code the server closed with, for the closes metric. */
  closeCode: number | undefined;
  /** Users this connection watches with presence_subscribe. */
  readonly watching: Set<string>;
  /** A `resume` is running (one at a time per socket). */
  resuming: boolean;
  readonly rate: TokenBucket;
  readonly abuse: SlidingCounter;
  /** The expiry second whose bucket holds this session (token-expiry.ts), if armed. */
  expiryBucket: number | undefined;
}

/** The per-connection limits, one object shared by every session of an app. */
export interface SessionLimits {
  ratePerSecond: number;
  rateBurst: number;
  abuseMax: number;
  abuseWindowMs: number;
  now: () => number;
}

export interface CreateSessionOptions {
  connectionId: string;
  ws: WebSocket;
  ip: string;
  user: SessionUser;
  token: string;
  tokenExp: number;
  tokenIat: number;
  limits: SessionLimits;
}

export function createSocketSession(options: CreateSessionOptions): SocketSession {
  return new Session(options);
}

/**
 * An idle socket is most of what an instance holds (docs/architecture.md, "What a
 * delivery costs"), so a session keeps only what every socket needs: the meters and
 * the watch list are created on the first frame that uses them.
 */
class Session implements SocketSession {
  readonly connectionId: string;
  readonly ws: WebSocket;
  readonly ip: string;
  readonly userId: string;
  readonly username: string;
  token: string;
  tokenExp: number;
  tokenIat: number;
  isAlive = true;
  closing = false;
  closeCode: number | undefined = undefined;
  resuming = false;
  expiryBucket: number | undefined = undefined;
  private readonly limits: SessionLimits;
  private watchList: Set<string> | undefined = undefined;
  private bucket: TokenBucket | undefined = undefined;
  private badFrames: SlidingCounter | undefined = undefined;

  constructor(options: CreateSessionOptions) {
    this.connectionId = options.connectionId;
    this.ws = options.ws;
    this.ip = options.ip;
    this.userId = options.user.userId;
    this.username = options.user.username;
    this.token = options.token;
    this.tokenExp = options.tokenExp;
    this.tokenIat = options.tokenIat;
    this.limits = options.limits;
  }

  get watching(): Set<string> {
    return (this.watchList ??= new Set());
  }

  get rate(): TokenBucket {
    const { ratePerSecond, rateBurst, now } = this.limits;
    return (this.bucket ??= new TokenBucket(ratePerSecond, rateBurst, now));
  }

  get abuse(): SlidingCounter {
    const { abuseMax, abuseWindowMs, now } = this.limits;
    return (this.badFrames ??= new SlidingCounter(abuseMax, abuseWindowMs, now));
  }
}

/** Classic token bucket: `burst` tokens, refilled at `perSecond`; take() is false when empty. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Counts events in a sliding window; hit() is false once more than `max` fell inside it. */
export class SlidingCounter {
  private readonly times: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  hit(): boolean {
    const t = this.now();
    while (this.times.length > 0 && (this.times[0] ?? 0) <= t - this.windowMs) this.times.shift();
    this.times.push(t);
    return this.times.length < this.max;
  }
}
