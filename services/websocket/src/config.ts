// The websocket service's environment, validated once at boot (main.ts is the only
// caller of loadConfig). Every limit of docs/design.md §6.5 lives here with its default, so
// tests and operators tune the same knobs; the descriptions here are what
// docs/configuration.md shows (`pnpm config:docs`).
import { EVENTS_EXCHANGE, PRESENCE_EXCHANGE } from '@parley/contracts';
import { commonEnv, envVars, jwtVerifierEnv, metricsEnv, trustProxyEnv } from '@parley/server-kit';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const websocketEnvSchema = z.object({
  ...commonEnv(),
  ...jwtVerifierEnv(),
  PORT: envVars.port(5003).describe('HTTP and WebSocket port; `0` picks a free one.'),
  ...metricsEnv(9103),
  TRUST_PROXY: trustProxyEnv(),
  AMQP_URL: envVars.amqpUrl(),
  CHAT_URL: envVars
    .httpUrl()
    .default('http://127.0.0.1:5002')
    .describe('chat, for send, typing, read, resume and presence checks.'),
  EVENTS_EXCHANGE: z
    .string()
    .min(1)
    .default(EVENTS_EXCHANGE)
    .describe(
      'The fanout exchange chat events and `session_revoked` are consumed from (and from nowhere else).',
    ),
  PRESENCE_EXCHANGE: z
    .string()
    .min(1)
    .default(PRESENCE_EXCHANGE)
    .describe(
      'The fanout exchange websocket instances publish presence to and consume it from (and from nowhere else); declared by them.',
    ),
  INSTANCE_ID: z
    .string()
    .min(1)
    .max(128)
    .default(() => `ws-${randomUUID()}`)
    .meta({
      description: "This instance's name in presence events.",
      defaultText: '`ws-<random uuid>`, new on every start',
    }),

  EVENTS_PREFETCH: envVars
    .int(200, { min: 1, max: 65_535 })
    .describe('Unacked deliveries RabbitMQ hands this instance at once.'),
  EVENTS_ACK_BATCH: envVars
    .int(50, { min: 1, max: 65_535 })
    .describe(
      'Handled events acknowledged with one AMQP ack (`multiple`), at most; kept below half of `EVENTS_PREFETCH`. `1` acks each event.',
    ),
  EVENTS_ACK_WINDOW_MS: envVars
    .durationMs(250)
    .describe(
      'How long a handled event waits for more to share its ack. Clients see no delay: events are pushed before they are acked.',
    ),
  EVENT_DEDUPE_SIZE: envVars
    .int(10_000, { min: 1 })
    .describe('How many recent event ids are remembered to drop redeliveries.'),

  MAX_FRAME_BYTES: envVars
    .int(64 * 1024, { min: 128, unit: 'bytes' })
    .describe('Largest accepted client frame; a bigger one closes the socket with 1009.'),
  RATE_LIMIT_PER_SECOND: envVars
    .int(20, { min: 1 })
    .describe(
      'Token bucket per connection: sustained frames per second; an empty bucket closes with 1008.',
    ),
  RATE_LIMIT_BURST: envVars.int(40, { min: 1 }).describe("That bucket's size."),
  ABUSE_MAX_BAD_FRAMES: envVars
    .int(10, { min: 1 })
    .describe(
      'Bad frames (not JSON, unknown shape, binary) tolerated within the window; the next closes with 1008.',
    ),
  ABUSE_WINDOW_MS: envVars.durationMs(60_000).describe('The window of `ABUSE_MAX_BAD_FRAMES`.'),
  HEARTBEAT_INTERVAL_MS: envVars
    .durationMs(30_000)
    .describe(
      'Ping every interval; a peer that has not answered the previous ping is dropped. `0` disables.',
    ),
  SEND_BUFFER_SOFT_LIMIT_BYTES: envVars
    .int(256 * 1024, { min: 0, unit: 'bytes' })
    .describe('Above this send buffer, `typing` and `presence` frames are dropped.'),
  SEND_BUFFER_LIMIT_BYTES: envVars
    .int(1024 * 1024, { min: 1, unit: 'bytes' })
    .describe('Above this send buffer, the connection is closed with 4008.'),
  MAX_CONNECTIONS_PER_USER: envVars
    .int(20, { min: 1 })
    .describe('Open sockets per user on this instance; upgrades beyond get HTTP 429.'),
  MAX_CONNECTIONS_PER_IP: envVars
    .int(1000, { min: 1 })
    .describe(
      'Open sockets plus handshakes still being authenticated per client address (under `TRUST_PROXY`) on this instance; upgrades beyond get HTTP 429.',
    ),
  MAX_PRESENCE_WATCH: envVars
    .int(1000, { min: 1 })
    .describe('Most users one connection may watch with `presence_subscribe`.'),
  PRESENCE_VISIBILITY_TTL_MS: envVars
    .durationMs(30_000)
    .describe(
      "How long chat's answer that a user shares a conversation with a watcher (so may see their presence) is trusted; `0` asks chat on every subscribe.",
    ),

  PRESENCE_HEARTBEAT_MS: envVars
    .durationMs(5_000)
    .describe(
      'How often this instance publishes its `presence_digest` (a fixed-size summary of the users it holds; peers that find it does not match ask for a snapshot).',
    ),
  PRESENCE_TIMEOUT_MS: envVars
    .durationMs(15_000)
    .describe(
      'A peer instance unheard of for this long is dropped and its users go offline (3 heartbeats by default).',
    ),
  PRESENCE_OFFLINE_GRACE_MS: envVars
    .durationMs(1_500)
    .describe(
      'A user must stay offline this long before watchers (and `GET /presence`) hear it: no blip on a page reload or a move between instances.',
    ),

  SESSION_REVOCATION_TTL_MS: envVars
    .durationMs(15 * 60_000)
    .describe(
      "How long after a `session_revoked` the user's access tokens issued before it are refused (kept in memory); at least auth's `ACCESS_TOKEN_TTL`.",
    ),
  CHAT_TIMEOUT_MS: envVars.durationMs(5_000).describe('Timeout of one HTTP call to chat.'),
  CLOSE_GRACE_MS: envVars
    .durationMs(2_000)
    .describe(
      'At shutdown, how long clients have to answer the 1001 close before they are dropped.',
    ),
});

export type WebsocketConfig = z.output<typeof websocketEnvSchema>;

/** The subset of the config the socket side needs (what tests vary). */
export type WebsocketLimits = Pick<
  WebsocketConfig,
  | 'EVENT_DEDUPE_SIZE'
  | 'MAX_FRAME_BYTES'
  | 'RATE_LIMIT_PER_SECOND'
  | 'RATE_LIMIT_BURST'
  | 'ABUSE_MAX_BAD_FRAMES'
  | 'ABUSE_WINDOW_MS'
  | 'HEARTBEAT_INTERVAL_MS'
  | 'SEND_BUFFER_SOFT_LIMIT_BYTES'
  | 'SEND_BUFFER_LIMIT_BYTES'
  | 'MAX_CONNECTIONS_PER_USER'
  | 'MAX_CONNECTIONS_PER_IP'
  | 'MAX_PRESENCE_WATCH'
  | 'SESSION_REVOCATION_TTL_MS'
  | 'PRESENCE_VISIBILITY_TTL_MS'
  | 'PRESENCE_HEARTBEAT_MS'
  | 'PRESENCE_TIMEOUT_MS'
  | 'PRESENCE_OFFLINE_GRACE_MS'
  | 'CLOSE_GRACE_MS'
>;
