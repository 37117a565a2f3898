// The chat service's environment, validated once at boot by main.ts (README.md has
// the table). JWKS_URL defaults to auth's well-known path under AUTH_URL, so a
// deployment normally sets AUTH_URL only.
import { commonEnv, envVars, jwtVerifierEnv, loadConfig, type Env } from '@parley/server-kit';
import { EVENTS_EXCHANGE } from '@parley/contracts';
import { z } from 'zod';
import { DEFAULT_SEND_LIMITS } from './messages/send-admission';
import { DEFAULT_SEND_RATE_LIMIT } from './messages/send-rate-limit';

export const chatEnvSchema = z
  .object({
    ...commonEnv(),
    PORT: envVars.port(5002),
    MONGO_URL: envVars.mongoUrl(),
    AMQP_URL: envVars.amqpUrl(),
    AUTH_URL: envVars.httpUrl().default('http://127.0.0.1:5001'),
    ...jwtVerifierEnv(),
    // overrides the verifier's default: derived from AUTH_URL below when unset
    JWKS_URL: envVars.httpUrl().optional(),
    EVENTS_EXCHANGE: z.string().min(1).max(255).default(EVENTS_EXCHANGE),

    AUTH_TIMEOUT_MS: envVars.durationMs(2_000),
    USER_CACHE_TTL_MS: envVars.durationMs(30_000),
    USER_CACHE_NOT_FOUND_TTL_MS: envVars.durationMs(5_000),
    USER_CACHE_MAX_ENTRIES: envVars.int(10_000, { min: 0 }),

    PUBLISH_TIMEOUT_MS: envVars.durationMs(5_000),
    OUTBOX_RELAY_INTERVAL_MS: envVars.durationMs(1_000),
    OUTBOX_GRACE_MS: envVars.durationMs(2_000),
    OUTBOX_BATCH_SIZE: envVars.int(200, { min: 1, max: 10_000 }),

    // how stale a room's membership may be on the send and typing paths (conversation-store.ts)
    CONVERSATION_CACHE_TTL_MS: envVars.durationMs(1_000),
    // commit delay of a busy conversation's lastSeq writes (coalesced-writes.ts)
    LAST_SEQ_WRITE_PAUSE_MS: envVars.durationMs(50),

    SEND_RATE_LIMIT: envVars.int(DEFAULT_SEND_RATE_LIMIT.points, { min: 0 }),
    SEND_RATE_WINDOW_MS: envVars.durationMs(DEFAULT_SEND_RATE_LIMIT.windowMs),

    // load shedding (send-admission.ts)
    SEND_MAX_PENDING: envVars.int(DEFAULT_SEND_LIMITS.maxPending, { min: 1 }),
    SEND_MAX_ACTIVE: envVars.int(DEFAULT_SEND_LIMITS.maxActive, { min: 1 }),
    SEND_CONVERSATION_QUEUE_MAX: envVars.int(DEFAULT_SEND_LIMITS.maxQueuedPerConversation, {
      min: 1,
    }),
    SEND_MIN_TIME_LEFT_MS: envVars.durationMs(DEFAULT_SEND_LIMITS.minTimeLeftMs),

    /**
     * Test hook, honoured only when NODE_ENV=test (e2e/faults/test/chat-crash.test.ts):
     * the process SIGKILLs itself right after storing a message whose text contains
     * this marker, before the event is dispatched.
     */
    CHAT_TEST_CRASH_AFTER_STORE: z.string().min(1).optional(),
  })
  .transform((env) => ({
    ...env,
    JWKS_URL: env.JWKS_URL ?? `${env.AUTH_URL.replace(/\/+$/, '')}/.well-known/jwks.json`,
  }));

export type ChatEnv = z.output<typeof chatEnvSchema>;

export function loadChatConfig(env: Env = process.env): ChatEnv {
  return loadConfig(chatEnvSchema, env);
}
