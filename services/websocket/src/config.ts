// The websocket service's environment, validated once at boot (main.ts is the only
// caller of loadConfig). Every limit of docs/design.md §6.5 lives here with its default, so
// tests and operators tune the same knobs.
import { EVENTS_EXCHANGE } from '@parley/contracts';
import { commonEnv, envVars, jwtVerifierEnv } from '@parley/server-kit';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const websocketEnvSchema = z.object({
  ...commonEnv(),
  ...jwtVerifierEnv(),
  PORT: envVars.port(5003),
  AMQP_URL: envVars.amqpUrl(),
  CHAT_URL: envVars.httpUrl().default('http://127.0.0.1:5002'),
  EVENTS_EXCHANGE: z.string().min(1).default(EVENTS_EXCHANGE),
  /** Names this process in presence events; random per start unless set. */
  INSTANCE_ID: z
    .string()
    .min(1)
    .max(128)
    .default(() => `ws-${randomUUID()}`),

  /** Unacked deliveries RabbitMQ hands this instance at once. */
  EVENTS_PREFETCH: envVars.int(200, { min: 1, max: 65_535 }),
  /** How many recent event ids are remembered to drop redeliveries. */
  EVENT_DEDUPE_SIZE: envVars.int(10_000, { min: 1 }),

  /** Largest accepted client frame; bigger closes with 1009. */
  MAX_FRAME_BYTES: envVars.int(64 * 1024, { min: 128 }),
  /** Token bucket per connection: sustained frames/s and burst; past it closes with 1008. */
  RATE_LIMIT_PER_SECOND: envVars.int(20, { min: 1 }),
  RATE_LIMIT_BURST: envVars.int(40, { min: 1 }),
  /** Bad frames (malformed, invalid, binary) tolerated within the window before 1008. */
  ABUSE_MAX_BAD_FRAMES: envVars.int(10, { min: 1 }),
  ABUSE_WINDOW_MS: envVars.durationMs(60_000),
  /** Ping every interval; a peer that has not answered the previous ping is dropped. */
  HEARTBEAT_INTERVAL_MS: envVars.durationMs(30_000),
  /** Above this send buffer, typing and presence frames are dropped. */
  SEND_BUFFER_SOFT_LIMIT_BYTES: envVars.int(256 * 1024, { min: 0 }),
  /** Above this send buffer, the connection is closed with 4008. */
  SEND_BUFFER_LIMIT_BYTES: envVars.int(1024 * 1024, { min: 1 }),
  MAX_CONNECTIONS_PER_USER: envVars.int(20, { min: 1 }),
  MAX_CONNECTIONS_PER_IP: envVars.int(1000, { min: 1 }),
  /** Most users one connection may watch with presence_subscribe. */
  MAX_PRESENCE_WATCH: envVars.int(1000, { min: 1 }),
  PRESENCE_VISIBILITY_TTL_MS: envVars
    .durationMs(30_000)
    .describe(
      "How long chat's answer that a user shares a conversation with a watcher (so may see their presence) is trusted; 0 asks chat on every subscribe",
    ),

  /** How often this instance publishes the snapshot of the users it holds. */
  PRESENCE_HEARTBEAT_MS: envVars.durationMs(5_000),
  /** A peer instance unheard of for this long is dropped; default 3 heartbeats. */
  PRESENCE_TIMEOUT_MS: envVars.durationMs(15_000),
  /** A user must stay offline this long before watchers hear it (no blip on reload or failover). */
  PRESENCE_OFFLINE_GRACE_MS: envVars.durationMs(1_500),

  /** Timeout of one HTTP call to chat. */
  CHAT_TIMEOUT_MS: envVars.durationMs(5_000),
  /** Grace given to clients to answer the 1001 close at shutdown before they are dropped. */
  CLOSE_GRACE_MS: envVars.durationMs(2_000),
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
  | 'PRESENCE_VISIBILITY_TTL_MS'
  | 'PRESENCE_HEARTBEAT_MS'
  | 'PRESENCE_TIMEOUT_MS'
  | 'PRESENCE_OFFLINE_GRACE_MS'
  | 'CLOSE_GRACE_MS'
>;
