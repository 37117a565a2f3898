// Users and presence: display names of unknown users, looked up in batches, and the
// presence watch (direct partners, and a room's members when it is opened).
import type { UserRef } from '@parley/contracts';
import { directPartner } from '../../model/conversation-list';
import type { ChatState } from './shared-state';

/** Presence is watched for at most this many users at a time (the frame's bound is 500). */
const PRESENCE_WATCH_MAX = 500;

export type ChatUsers = ReturnType<typeof createChatUsers>;

export function createChatUsers(state: ChatState) {
  const { client, me, users, live, later } = state;

  const wantedUsers = new Set<string>();
  let usersTimer: ReturnType<typeof setTimeout> | undefined;
  /** Display names: unknown users are looked up in batches. */
  function ensureUsers(ids: Iterable<string>): void {
    for (const id of ids) if (users.value[id] === undefined) wantedUsers.add(id);
    if (wantedUsers.size === 0 || usersTimer !== undefined) return;
    usersTimer = later(30, () => {
      usersTimer = undefined;
      const batchIds = [...wantedUsers].slice(0, 100);
      for (const id of batchIds) wantedUsers.delete(id);
      client.getUsers(batchIds).then(
        (found) => {
          const next = { ...users.value };
          for (const user of found) next[user.id] = user;
          users.value = next;
          if (wantedUsers.size > 0) ensureUsers([]);
        },
        () => undefined, // names fall back to usernames
      );
    });
  }

  const watched = new Set<string>();
  function watchPresence(ids: Iterable<string>): void {
    const fresh = [...ids].filter((id) => id !== me.id && !watched.has(id));
    const room = PRESENCE_WATCH_MAX - watched.size;
    const take = fresh.slice(0, Math.max(0, room));
    if (take.length === 0) return;
    for (const id of take) watched.add(id);
    live.rt?.presenceSubscribe(take);
  }

  function learnMembers(list: readonly { kind: string; members: readonly UserRef[] }[]): void {
    ensureUsers(list.flatMap((c) => c.members.map((m) => m.id)));
    watchPresence(
      list
        .filter((c) => c.kind === 'direct')
        .map((c) => directPartner(c, me.id)?.id)
        .filter((id): id is string => id !== undefined),
    );
  }

  return { ensureUsers, watchPresence, learnMembers };
}
