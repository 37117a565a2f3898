// Whose presence a user may see (docs/design.md §6.7): only users who share a conversation
// with them, so a stranger cannot track someone's online hours by their public id. The
// websocket service holds no conversations, so it asks chat (POST /chat/contacts): one
// call per presence_subscribe frame or GET /presence for the ids it does not already
// know to be visible. Only "visible" is remembered, for `ttlMs`: a user who just
// started a conversation with someone sees them on the next subscribe, and one who
// left a shared room may go on seeing them for at most that long.
import type { ChatClient } from './chat-client';

export interface PresenceVisibility {
  /** Of `userIds`, those `watcher` may see (themselves included); at most one chat call. */
  visibleTo(
    watcher: { userId: string; token: string },
    userIds: readonly string[],
  ): Promise<Set<string>>;
}

export interface PresenceVisibilityOptions {
  chat: ChatClient;
  /** How long a "visible" answer is trusted; 0 asks every time. */
  ttlMs: number;
  /** Watchers whose answers are kept at most (least recently asked go first). */
  maxWatchers?: number;
  now: () => number;
}

export function createPresenceVisibility(options: PresenceVisibilityOptions): PresenceVisibility {
  const maxWatchers = options.maxWatchers ?? 10_000;
  // watcher → watched → visible until
  const known = new Map<string, Map<string, number>>();

  function answersOf(watcherId: string): Map<string, number> {
    let answers = known.get(watcherId);
    if (answers) known.delete(watcherId);
    else answers = new Map();
    known.set(watcherId, answers);
    if (known.size > maxWatchers) known.delete(known.keys().next().value as string);
    return answers;
  }

  return {
    async visibleTo(watcher, userIds) {
      const t = options.now();
      const answers = answersOf(watcher.userId);
      const visible = new Set<string>();
      const ask: string[] = [];
      for (const id of new Set(userIds)) {
        if (id === watcher.userId || (answers.get(id) ?? 0) > t) visible.add(id);
        else ask.push(id);
      }
      if (ask.length === 0) return visible;
      if (answers.size > 4 * ask.length + 1_000) {
        for (const [id, until] of answers) if (until <= t) answers.delete(id);
      }
      for (const id of await options.chat.contacts(watcher.token, ask)) {
        visible.add(id);
        if (options.ttlMs > 0) answers.set(id, t + options.ttlMs);
      }
      return visible;
    },
  };
}
