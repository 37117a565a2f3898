// The users a request names, as UserRefs: the caller itself, and the user it names by
// username (sends, history, blocks, room invites and bans), looked up in the user
// directory unless it is the caller's own name.
import type { UserRef } from '@parley/contracts';
import type { Principal } from '@parley/server-kit';
import type { ChatServices } from './chat-services';

export function userRefOf(caller: Principal): UserRef {
  return { id: caller.userId, username: caller.username };
}

/** The direct conversation with the user named `username` (the caller's own: notes to self). */
export async function resolveDirectPeer(
  services: ChatServices,
  caller: Principal,
  username: string,
): Promise<UserRef> {
  if (username === caller.username.toLowerCase()) return userRefOf(caller);
  const user = await services.users.requireByUsername(username, caller.token);
  return { id: user.id, username: user.username };
}
