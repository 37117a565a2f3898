// What one account may do per window (docs/design.md §4.14), each rule a setting with the
// default below (config.ts), counted across instances by shared-rate-limiter.ts. The
// routes and use cases ask here before any other work; past a limit the answer is 429
// rate_limited with Retry-After (RateLimitedError), except typing, which is dropped
// without a word (a typing indicator is a hint, and a client's next keystroke sends
// another).
import { RateLimitedError } from '@parley/server-kit';
import type { RateLimit, RateRule, SharedRateLimiter } from './shared-rate-limiter';

export interface WindowLimit {
  /** Per window; 0 turns the limit off. */
  points: number;
  windowMs: number;
}

export type LimitedAction =
  | 'send'
  | 'edit'
  | 'reaction'
  | 'roomCreate'
  | 'invite'
  | 'membership'
  | 'moderation'
  | 'history'
  | 'listing'
  | 'sync';

export interface UserLimitSettings extends Record<LimitedAction, WindowLimit> {
  /** typing events of one user, over all conversations (dropped past it). */
  typing: WindowLimit;
  /** Least time between two typing events of one user in one conversation (0: no throttle). */
  typingIntervalMs: number;
}

export const DEFAULT_USER_LIMITS: UserLimitSettings = {
  // messages (POST /chat/send and websocket `send`)
  send: { points: 60, windowMs: 10_000 },
  // edits and deletes
  edit: { points: 30, windowMs: 60_000 },
  // reactions added or removed
  reaction: { points: 60, windowMs: 60_000 },
  typing: { points: 30, windowMs: 10_000 },
  typingIntervalMs: 2_000,
  roomCreate: { points: 20, windowMs: 3_600_000 },
  // each user added to a room: invited, or named as a member when creating it
  invite: { points: 100, windowMs: 3_600_000 },
  // joining and leaving rooms: each is a conversation_updated event to every member, so
  // one account cycling through a large public room must not keep it churning
  membership: { points: 60, windowMs: 3_600_000 },
  // room moderation: room edits, role changes, removals, bans and unbans, and deletes of
  // other members' messages by a room's owners and admins (each room change is an event
  // to every member, so one moderator cannot keep a large room churning)
  moderation: { points: 60, windowMs: 60_000 },
  // history pages and thread replies
  history: { points: 600, windowMs: 60_000 },
  // conversation list, room list and room, contacts (presence visibility)
  listing: { points: 120, windowMs: 60_000 },
  // POST /chat/sync, i.e. websocket `resume` frames
  sync: { points: 60, windowMs: 60_000 },
};

/** Rare actions with hour-long windows: their counts are read before a decision (takeAll). */
const READ_FIRST = new Set<LimitedAction>(['roomCreate', 'invite', 'membership']);

const REFUSALS: Record<LimitedAction, string> = {
  send: 'Too many messages, slow down',
  edit: 'Too many edits, slow down',
  reaction: 'Too many reactions, slow down',
  roomCreate: 'Too many rooms created, try again later',
  invite: 'Too many invitations, try again later',
  membership: 'Too many rooms joined or left, try again later',
  moderation: 'Too many moderation actions, slow down',
  history: 'Too many history reads, slow down',
  listing: 'Too many list reads, slow down',
  sync: 'Too many resumes, slow down',
};

export interface UserLimits {
  /** Counts one `action` (or `cost` of them) by the user; throws RateLimitedError past the limit. */
  take(action: LimitedAction, userId: string, cost?: number): void;
  /**
   * Counts several at once, all or none (what was counted is given back on a refusal).
   * The rare long-window actions (room creation, invitations) first read the user's
   * global count when this instance has not lately (one find), so a user new to this
   * instance cannot spend their budget again here.
   */
  takeAll(entries: readonly [LimitedAction, string, number][]): Promise<void>;
  /** Gives back what take() counted for a request that turned out not to count. */
  refund(action: LimitedAction, userId: string, cost?: number): void;
  /** Whether a typing event of the user in the conversation may reach the others now. */
  typingAllowed(userId: string, conversationId: string): boolean;
  /** Whether the user may announce typing at all now (checked before any lookup). */
  typingBudget(userId: string): boolean;
}

export function createUserLimits(
  limiter: SharedRateLimiter,
  settings: UserLimitSettings,
  onRefused: (rule: string) => void = () => undefined,
): UserLimits {
  const rule = (name: string, limit: WindowLimit): RateRule => ({ name, ...limit });
  const limits = Object.fromEntries(
    (Object.keys(REFUSALS) as LimitedAction[]).map((action) => [
      action,
      limiter.limit(rule(action, settings[action])),
    ]),
  ) as Record<LimitedAction, RateLimit>;
  const typingPerUser = limiter.limit(rule('typing', settings.typing));
  const typingPerConversation = limiter.limit(
    rule('typing_conversation', { points: 1, windowMs: settings.typingIntervalMs }),
  );

  function refused(action: LimitedAction, retryAfterMs: number): RateLimitedError {
    onRefused(action);
    return new RateLimitedError(retryAfterMs / 1000, REFUSALS[action]);
  }

  const userLimits: UserLimits = {
    take(action, userId, cost = 1) {
      const result = limits[action].take(userId, cost);
      if (!result.ok) throw refused(action, result.retryAfterMs);
    },
    async takeAll(entries) {
      await Promise.all(
        entries.flatMap(([action, userId, cost]) =>
          cost > 0 && READ_FIRST.has(action) ? [limits[action].refresh(userId)] : [],
        ),
      );
      const taken: [LimitedAction, string, number][] = [];
      for (const entry of entries) {
        const [action, userId, cost] = entry;
        if (cost <= 0) continue;
        const result = limits[action].take(userId, cost);
        if (!result.ok) {
          for (const [a, u, c] of taken) limits[a].refund(u, c);
          throw refused(action, result.retryAfterMs);
        }
        taken.push(entry);
      }
    },
    refund(action, userId, cost = 1) {
      limits[action].refund(userId, cost);
    },
    typingBudget(userId) {
      const ok = typingPerUser.take(userId).ok;
      if (!ok) onRefused('typing');
      return ok;
    },
    typingAllowed(userId, conversationId) {
      const ok = typingPerConversation.take(`${userId}|${conversationId}`).ok;
      if (!ok) onRefused('typing_conversation');
      return ok;
    },
  };
  return userLimits;
}
