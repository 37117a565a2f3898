// isMemberAfter and applyConversationUpdate: how a client keeps a large room's partial
// member list (membersComplete: false, docs/design.md §4.2) right from conversation_updated.
import type { Conversation } from '@parley/contracts';
import { applyConversationUpdate, isMemberAfter } from '@parley/client';

const at = new Date(0).toISOString();
const owner = { id: 'u0', username: 'owner', role: 'owner' } as const;
const ann = { id: 'u1', username: 'ann', role: 'member' } as const;
const bob = { id: 'u2', username: 'bob', role: 'member' } as const;
const room = (members: Conversation['members'], partial: boolean): Conversation => ({
  id: 'r1',
  kind: 'room',
  name: 'big',
  isPrivate: false,
  members,
  ...(partial ? { membersComplete: false } : {}),
  memberCount: 500,
  lastSeq: 0,
  createdAt: at,
  updatedAt: at,
});

it('When a partial list reaches a member it does not name, then they are a member unless the change removed them', () => {
  const update = { conversation: room([owner], true) };
  expect(isMemberAfter(update, ann.id)).toBe(true);
  expect(
    isMemberAfter(
      { ...update, memberChange: { removed: [{ id: ann.id, username: 'ann' }] } },
      ann.id,
    ),
  ).toBe(false);
  // a complete list says it all
  expect(isMemberAfter({ conversation: room([owner], false) }, ann.id)).toBe(false);
});

it('When partial updates arrive, then the known members are kept, the removed dropped and the changed taken as they are', () => {
  const known = room([owner, ann, bob], true);
  const joined = applyConversationUpdate(known, {
    conversation: room([{ id: 'u3', username: 'cy', role: 'member' }, owner], true),
    memberChange: { added: [{ id: 'u3', username: 'cy', role: 'member' }] },
  });
  expect(joined.members.map((m) => m.id)).toEqual(['u0', 'u1', 'u2', 'u3']);
  const changed = applyConversationUpdate(joined, {
    conversation: room([{ ...ann, role: 'admin' }, owner], true),
    memberChange: { roleChanged: [{ ...ann, role: 'admin' }], removed: [bob] },
  });
  expect(changed.members).toEqual([
    owner,
    { ...ann, role: 'admin' },
    { id: 'u3', username: 'cy', role: 'member' },
  ]);
  expect(changed.membersComplete).toBe(false);
  // a complete list replaces what was known
  expect(applyConversationUpdate(changed, { conversation: room([owner], false) }).members).toEqual([
    owner,
  ]);
});
