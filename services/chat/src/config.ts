// The chat service's environment, validated once at boot by main.ts; the descriptions
// here are what docs/configuration.md shows (`pnpm config:docs`). JWKS_URL defaults to
// auth's well-known path under AUTH_URL, so a deployment normally sets AUTH_URL only.
import {
  commonEnv,
  envVars,
  jwtVerifierEnv,
  loadConfig,
  metricsEnv,
  type Env,
} from '@parley/server-kit';
import { EVENTS_EXCHANGE } from '@parley/contracts';
import { z } from 'zod';
import { DEFAULT_SEND_LIMITS } from './messages/send-admission';
import { DEFAULT_ATTACHMENT_SETTINGS } from './attachments/attachment-upload';
import { DEFAULT_SYNC_INTERVAL_MS } from './rate-limits/shared-rate-limiter';
import { DEFAULT_ROOM_MAX_MEMBERS } from './rooms/room-member-store';
import { DEFAULT_ROOM_MEMBERS_INLINE_MAX } from './conversations/conversation-store';
import {
  DEFAULT_USER_LIMITS,
  type UserLimitSettings,
  type WindowLimit,
} from './rate-limits/user-limits';

/** `<NAME>_RATE_LIMIT` and `<NAME>_RATE_WINDOW_MS`: what one user may do per window. */
function windowLimitEnv<N extends string>(
  name: N,
  fallback: WindowLimit,
  what: string,
  pastIt = '429 `rate_limited` with `Retry-After`',
) {
  return {
    [`${name}_RATE_LIMIT`]: envVars
      .int(fallback.points, { min: 0 })
      .describe(
        `${what} one user may make per \`${name}_RATE_WINDOW_MS\`, across instances (past it: ${pastIt}); \`0\` turns the limit off.`,
      ),
    [`${name}_RATE_WINDOW_MS`]: envVars
      .int(fallback.windowMs, { min: 100, unit: 'ms' })
      .describe(`The sliding window of \`${name}_RATE_LIMIT\`.`),
  } as Record<`${N}_RATE_LIMIT` | `${N}_RATE_WINDOW_MS`, ReturnType<typeof envVars.int>>;
}

export const chatEnvSchema = z
  .object({
    ...commonEnv(),
    PORT: envVars.port(5002),
    ...metricsEnv(9102),
    MONGO_URL: envVars.mongoUrl(),
    AMQP_URL: envVars.amqpUrl(),
    AUTH_URL: envVars
      .httpUrl()
      .default('http://127.0.0.1:5001')
      .describe('auth, for username lookups (`GET /users/:username`); `JWKS_URL` follows from it.'),
    ...jwtVerifierEnv(),
    // overrides the verifier's default: derived from AUTH_URL below when unset
    JWKS_URL: envVars.httpUrl().optional().meta({
      description: "Where to fetch auth's public keys.",
      defaultText: '`${AUTH_URL}/.well-known/jwks.json`',
    }),
    EVENTS_EXCHANGE: z
      .string()
      .min(1)
      .max(255)
      .default(EVENTS_EXCHANGE)
      .describe('The fanout exchange events are published to.'),

    AUTH_TIMEOUT_MS: envVars
      .durationMs(2_000)
      .describe(
        'Budget of one username lookup; slower or failing gives 503 `dependency_unavailable`.',
      ),
    USER_CACHE_TTL_MS: envVars
      .durationMs(30_000)
      .describe('How long a looked-up user stays cached.'),
    USER_CACHE_NOT_FOUND_TTL_MS: envVars
      .durationMs(5_000)
      .describe('How long an unknown username stays cached.'),
    USER_CACHE_MAX_ENTRIES: envVars
      .int(10_000, { min: 0 })
      .describe('Entries of that cache, found and not found.'),

    PUBLISH_TIMEOUT_MS: envVars
      .durationMs(5_000)
      .describe('Wait for a publisher confirm before leaving the event to the outbox relay.'),
    OUTBOX_RELAY_INTERVAL_MS: envVars
      .durationMs(1_000)
      .describe('Pause between outbox relay passes.'),
    OUTBOX_GRACE_MS: envVars
      .durationMs(2_000)
      .describe(
        'How long a pending event is left to the fast path before the relay republishes it.',
      ),
    OUTBOX_BATCH_SIZE: envVars
      .int(200, { min: 1, max: 10_000 })
      .describe('Documents per collection per relay pass.'),

    CONVERSATION_CACHE_TTL_MS: envVars
      .durationMs(1_000)
      .describe(
        'How long a room\'s membership read on the send and typing paths may be reused (chat README, "Membership on the hot paths"): a member who left through another instance may send for that long, and a block made through another instance takes that long to refuse direct sends (docs/design.md §10.2); `0` turns the cache off.',
      ),
    ACTIVITY_WRITE_DELAY_MS: envVars
      .durationMs(100)
      .describe(
        "Conversations' last-message fields (`lastSeq`, `lastMessageAt`) of the sends of this window are written together by one bulk write, behind the sends' answers; other instances' conversation lists may lag by this much plus the write (docs/design.md §4.6).",
      ),
    RELAY_CHECKPOINT_INTERVAL_MS: envVars
      .int(1_000, { min: 50, unit: 'ms' })
      .describe(
        'How often an instance records up to where the broker confirmed the new_message events of what it stored (its relay checkpoint, with its heartbeat): one write per interval, none per message (docs/design.md §7.2).',
      ),
    RELAY_LEASE_MS: envVars
      .int(5_000, { min: 100, unit: 'ms' })
      .describe(
        "A relay checkpoint whose heartbeat is older than this belongs to a dead instance: another instance adopts it and republishes that instance's messages from it on (at least once). Keep it a few `RELAY_CHECKPOINT_INTERVAL_MS`.",
      ),

    // per-user limits, counted across instances (rate-limits/, docs/security.md)
    ...windowLimitEnv(
      'SEND',
      DEFAULT_USER_LIMITS.send,
      'Messages',
      '429 `rate_limited` with `Retry-After`, checked before the admission gate; a retried `clientMsgId` is not counted; docs/security.md says how every limit below is counted',
    ),
    ...windowLimitEnv('EDIT', DEFAULT_USER_LIMITS.edit, 'Message edits and deletes'),
    ...windowLimitEnv('REACTION', DEFAULT_USER_LIMITS.reaction, 'Reactions added or removed'),
    ...windowLimitEnv('ROOM_CREATE', DEFAULT_USER_LIMITS.roomCreate, 'Rooms created'),
    ...windowLimitEnv(
      'INVITE',
      DEFAULT_USER_LIMITS.invite,
      'Users added to rooms (invited, or named as members of a new room)',
    ),
    ...windowLimitEnv(
      'MEMBERSHIP',
      DEFAULT_USER_LIMITS.membership,
      'Rooms joined or left (each is an event to every member)',
    ),
    ...windowLimitEnv(
      'MODERATION',
      DEFAULT_USER_LIMITS.moderation,
      "Room moderation actions (room edits, role changes, removals, bans, unbans, and deletes of other members' messages by owners and admins)",
    ),
    ...windowLimitEnv('HISTORY', DEFAULT_USER_LIMITS.history, 'History and thread pages read'),
    ...windowLimitEnv(
      'LIST',
      DEFAULT_USER_LIMITS.listing,
      'Conversation list, room list, room and contacts reads',
    ),
    ...windowLimitEnv('SYNC', DEFAULT_USER_LIMITS.sync, 'Resumes (`POST /chat/sync`)'),
    ...windowLimitEnv(
      'TYPING',
      DEFAULT_USER_LIMITS.typing,
      'Typing announcements',
      'dropped, still answered 204',
    ),
    TYPING_INTERVAL_MS: envVars
      .durationMs(DEFAULT_USER_LIMITS.typingIntervalMs)
      .describe(
        'At most one typing event per user and conversation reaches the others per this many ms; the rest are dropped (still 204); `0` turns it off.',
      ),
    RATE_LIMIT_SYNC_INTERVAL_MS: envVars
      .int(DEFAULT_SYNC_INTERVAL_MS, { min: 10, unit: 'ms' })
      .describe(
        'How often each instance writes its rate limit counts to MongoDB and reads the global ones back; a user spread over N instances may exceed a limit by what N−1 instances admit in this time.',
      ),
    ROOM_MAX_MEMBERS: envVars
      .int(DEFAULT_ROOM_MAX_MEMBERS, { min: 2 })
      .describe(
        'Members a room may have; joining, inviting or creating past it is 409 `room_full`.',
      ),
    ROOM_MEMBERS_INLINE_MAX: envVars
      .int(DEFAULT_ROOM_MEMBERS_INLINE_MAX, { min: 1 })
      .describe(
        'A room with more members than this carries at most this many in `conversation.members` (the users a change or request is about, then owners, then admins) with `membersComplete: false`, in events and answers alike; clients page the rest from `GET /chat/rooms/:id/members` (docs/design.md §4.2).',
      ),

    // load shedding (send-admission.ts)
    SEND_MAX_PENDING: envVars
      .int(DEFAULT_SEND_LIMITS.maxPending, { min: 1 })
      .describe(
        'Sends one chat instance works on at once; one more is answered 503 `dependency_unavailable` with `Retry-After` at once (chat README, "Overload").',
      ),
    SEND_MAX_ACTIVE: envVars
      .int(DEFAULT_SEND_LIMITS.maxActive, { min: 1 })
      .describe(
        'Of those, sends doing their MongoDB lookups at once; the others wait their turn (dropped at their deadline, or at once when they could not start in time).',
      ),
    SEND_CONVERSATION_QUEUE_MAX: envVars
      .int(DEFAULT_SEND_LIMITS.maxQueuedPerConversation, { min: 1 })
      .describe(
        'Sends waiting for (or doing) their write in one conversation; one more is answered 503 at once.',
      ),
    SEND_MIN_TIME_LEFT_MS: envVars
      .durationMs(DEFAULT_SEND_LIMITS.minTimeLeftMs)
      .describe(
        'A send whose lookups or write would, by the recent pace, not be done this long before its request deadline (`REQUEST_DEADLINE_MS`) is answered 503 at once or dropped: it stores nothing.',
      ),

    // attachments (docs/design.md §11)
    ATTACHMENT_MAX_BYTES: envVars
      .int(DEFAULT_ATTACHMENT_SETTINGS.maxBytes, { min: 1, unit: 'bytes' })
      .describe(
        'Largest attachment; a larger upload is answered 413 `payload_too_large` without reading past the limit.',
      ),
    ATTACHMENT_DAILY_QUOTA_BYTES: envVars
      .int(DEFAULT_ATTACHMENT_SETTINGS.dailyQuotaBytes, { min: 1, unit: 'bytes' })
      .describe(
        'Bytes one user may upload per 24 h; past it uploads are answered 429 `rate_limited`.',
      ),
    ATTACHMENT_SWEEP_INTERVAL_MS: envVars
      .durationMs(10 * 60_000)
      .describe(
        'How often uploads never sent (and older than 24 h) are deleted, with the chunks of uploads cut off by a crash.',
      ),
    WEBHOOK_ALLOW_PRIVATE: envVars
      .boolean(false)
      .describe(
        'Let webhooks target loopback, private and link-local addresses (development and tests only; the delivery worker has the same setting).',
      ),

    CHAT_TEST_CRASH_AFTER_STORE: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Test hook, honoured only when `NODE_ENV=test` (e2e/faults/test/chat-crash.test.ts): the process SIGKILLs itself right after storing a message whose text contains this marker, before the event is dispatched.',
      ),
  })
  .transform((env) => ({
    ...env,
    JWKS_URL: env.JWKS_URL ?? `${env.AUTH_URL.replace(/\/+$/, '')}/.well-known/jwks.json`,
  }));

export type ChatEnv = z.output<typeof chatEnvSchema>;

/** The per-user limits of a parsed config (for createChatServices). */
export function userLimitsOf(config: ChatEnv): UserLimitSettings {
  const limit = (points: number, windowMs: number): WindowLimit => ({ points, windowMs });
  return {
    send: limit(config.SEND_RATE_LIMIT, config.SEND_RATE_WINDOW_MS),
    edit: limit(config.EDIT_RATE_LIMIT, config.EDIT_RATE_WINDOW_MS),
    reaction: limit(config.REACTION_RATE_LIMIT, config.REACTION_RATE_WINDOW_MS),
    roomCreate: limit(config.ROOM_CREATE_RATE_LIMIT, config.ROOM_CREATE_RATE_WINDOW_MS),
    invite: limit(config.INVITE_RATE_LIMIT, config.INVITE_RATE_WINDOW_MS),
    membership: limit(config.MEMBERSHIP_RATE_LIMIT, config.MEMBERSHIP_RATE_WINDOW_MS),
    moderation: limit(config.MODERATION_RATE_LIMIT, config.MODERATION_RATE_WINDOW_MS),
    history: limit(config.HISTORY_RATE_LIMIT, config.HISTORY_RATE_WINDOW_MS),
    listing: limit(config.LIST_RATE_LIMIT, config.LIST_RATE_WINDOW_MS),
    sync: limit(config.SYNC_RATE_LIMIT, config.SYNC_RATE_WINDOW_MS),
    typing: limit(config.TYPING_RATE_LIMIT, config.TYPING_RATE_WINDOW_MS),
    typingIntervalMs: config.TYPING_INTERVAL_MS,
  };
}

export function loadChatConfig(env: Env = process.env): ChatEnv {
  return loadConfig(chatEnvSchema, env);
}
