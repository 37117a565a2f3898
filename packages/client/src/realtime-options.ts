// How a realtime connection is set up: the options an app may pass (with their
// defaults, resolved once here) and the dependencies it is built on — the socket URL,
// a token source and the two REST reads it catches up with. ParleyClient wires the
// dependencies; createRealtime takes them from anyone else.
import type { ConversationsResponse, HistoryResponse } from '@parley/contracts';
import type { TokenSource } from './session';
import type { WebSocketConstructor } from './socket-transport';

export interface HistoryPageRequest {
  conversationId: string;
  after: number;
  limit: number;
}

export interface ConversationsPageRequest {
  limit: number;
  /** nextCursor of the previous page. */
  before?: string;
}

export interface RealtimeOptions {
  /** Backoff between reconnects: ceiling of the first delay and largest delay, ms (500 / 30 000). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How long `send()` waits for its ack, ms (30 000). */
  ackTimeoutMs?: number;
  /** How long to wait for `ready` after the socket opens, and for `resumed` after `resume`, ms (15 000). */
  readyTimeoutMs?: number;
  /** Send a `ping` this often and reconnect if no `pong` comes within heartbeatTimeoutMs (25 000 / 10 000; 0 disables). */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** Last seen seq per conversation the app already has (e.g. persisted before a restart). */
  seed?: Readonly<Record<string, number>>;
  /** How far below lastSeen delivered message ids are remembered for dedupe (1000). */
  dedupeWindow?: number;
  /** Page size for gap filling and catch-up (100, the server's maximum). */
  historyPageSize?: number;
  /** Rounds of history fetches that fill nothing before a gap is given up on (5). */
  maxGapRounds?: number;
  /**
   * How many conversations (newest activity first) the list loaded at each (re)connect
   * covers at most (1000, in pages of 100).
   */
  conversationListMax?: number;
  /** WebSocket implementation; browsers' own, or `ws` in Node, by default. */
  webSocket?: WebSocketConstructor;
  /** Random source for jitter, [0, 1). */
  random?: () => number;
  /** Clock, ms since the epoch. */
  now?: () => number;
}

export interface RealtimeDeps {
  /** ws(s)://host:port/ws — the token is added as `?token=`. */
  url: string;
  tokens: TokenSource;
  history: (request: HistoryPageRequest) => Promise<HistoryResponse>;
  /**
   * GET /chat/conversations: how the connection learns of conversations created or
   * joined while it was away. Without it, only messages and `conversation_updated`
   * frames reveal new conversations.
   */
  conversations?: (request: ConversationsPageRequest) => Promise<ConversationsResponse>;
}

/** The options with every default filled in (seed and webSocket are used once, at construction). */
export type ResolvedOptions = Required<Omit<RealtimeOptions, 'seed' | 'webSocket' | 'backoff'>> & {
  baseMs: number;
  maxMs: number;
};

export function resolveOptions(options: RealtimeOptions): ResolvedOptions {
  return {
    baseMs: options.backoff?.baseMs ?? 500,
    maxMs: options.backoff?.maxMs ?? 30_000,
    ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
    readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 25_000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
    dedupeWindow: options.dedupeWindow ?? 1000,
    historyPageSize: options.historyPageSize ?? 100,
    maxGapRounds: options.maxGapRounds ?? 5,
    conversationListMax: options.conversationListMax ?? 1000,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
  };
}
