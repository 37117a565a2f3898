// docs/design.md §10 over the three real service processes, with live sockets: every
// room change reaches every member's device as it happens, a banned user's sockets
// get that last conversation_updated and nothing of the room after it, mentions
// arrive on the message frames, a blocked user's typing never reaches the blocker
// and the blocker's presence is unknown to them.
import { ParleyApiError, ParleyRealtimeError } from '@parley/client';
import { connect, createUsers, Inbox, type TestUser, useStack, waitFor } from '@parley/testing';

const e2e = useStack({ name: 'moderation' });

let owner: TestUser;
let bob: TestUser;
let carol: TestUser;
let ownerRt: Inbox;
let bobRt: Inbox;
let carolRt: Inbox;
let roomId = '';

afterAll(async () => {
  for (const inbox of [ownerRt, bobRt, carolRt]) await inbox?.rt.close();
});

async function errorOf(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof ParleyApiError || err instanceof ParleyRealtimeError) return err.code;
  return `no Parley error: ${String(err)}`;
}

test('When the owner makes a member admin, then every member\u2019s socket sees the role at once', async () => {
  [owner, bob, carol] = (await createUsers(e2e.stack, ['owner', 'bob', 'carol'])) as [
    TestUser,
    TestUser,
    TestUser,
  ];
  ownerRt = new Inbox(await connect(owner));
  bobRt = new Inbox(await connect(bob));
  carolRt = new Inbox(await connect(carol));
  roomId = (
    await owner.client.createRoom({ name: 'civil', members: [bob.username, carol.username] })
  ).id;

  await owner.client.setRoomRole(roomId, carol.username, 'admin');

  for (const inbox of [ownerRt, bobRt, carolRt]) {
    const frame = await inbox.waitIn(
      inbox.conversationUpdates,
      (f) =>
        f.conversation.id === roomId &&
        f.conversation.members.some((m) => m.id === carol.user.id && m.role === 'admin'),
      'carol admin',
    );
    expect(frame.conversation.members.find((m) => m.id === owner.user.id)?.role).toBe('owner');
  }
});

test('When bob mentions carol, then her socket gets the message with the mention and her list counts it', async () => {
  const sent = await bob.client.send({ conversationId: roomId, text: `@${carol.username} hi` });

  const delivered = await waitFor(() => carolRt.of(roomId).find((m) => m.id === sent.id), {
    timeoutMs: 10_000,
    description: 'the mention on carol\u2019s socket',
  });
  expect(delivered.mentions).toEqual([{ id: carol.user.id, username: carol.username }]);
  const listed = (await carol.client.conversations()).conversations.find((c) => c.id === roomId);
  expect(listed?.mentionCount).toBe(1);
  expect((await carol.client.mentions()).messages.map((m) => m.id)).toEqual([sent.id]);
});

test('When the admin bans bob, then his sockets get that last update and no later message of the room, and his sends are 403 banned', async () => {
  const before = bobRt.conversationUpdates.length;
  await carol.client.ban(roomId, bob.username, 'rude');

  const last = await bobRt.waitIn(
    bobRt.conversationUpdates,
    (f) =>
      f.conversation.id === roomId && !f.conversation.members.some((m) => m.id === bob.user.id),
    'bob told he is out',
    { from: before },
  );
  expect(last.conversation.memberCount).toBe(2);
  const after = await owner.client.send({ conversationId: roomId, text: 'after the ban' });
  await carolRt.waitForMessages(roomId, 2);
  const marker = await owner.client.send({ conversationId: roomId, text: 'and another' });
  await waitFor(() => carolRt.of(roomId).find((m) => m.id === marker.id), {
    timeoutMs: 10_000,
    description: 'carol gets the marker',
  });

  expect(bobRt.of(roomId).map((m) => m.id)).not.toContain(after.id);
  expect(bobRt.of(roomId).map((m) => m.id)).not.toContain(marker.id);
  expect(await errorOf(bob.client.send({ conversationId: roomId, text: 'let me back' }))).toBe(
    'banned',
  );
  expect(await errorOf(bobRt.rt.send({ conversationId: roomId, text: 'over WS' }))).toBe('banned');
  expect(await errorOf(bob.client.joinRoom(roomId))).toBe('banned');
  expect((await carol.client.roomBans(roomId)).map((b) => b.user.id)).toEqual([bob.user.id]);
});

test('When carol blocks bob, then his direct messages are 403 blocked, his typing never reaches her and her presence is unknown to him', async () => {
  const shared = (
    await owner.client.createRoom({ name: 'other', members: [bob.username, carol.username] })
  ).id;
  await carol.client.block(bob.username);

  expect(await errorOf(bob.client.send({ to: carol.username, text: 'psst' }))).toBe('blocked');
  await bob.client.typing(shared, true);
  await ownerRt.waitIn(
    ownerRt.typing,
    (f) => f.conversationId === shared && f.user.id === bob.user.id,
    'bob typing at the owner',
  );
  // the owner's frame came through the same exchange after carol's would have
  await owner.client.typing(shared, true);
  await carolRt.waitIn(
    carolRt.typing,
    (f) => f.conversationId === shared && f.user.id === owner.user.id,
    'the owner typing at carol',
  );
  expect(carolRt.typing.filter((f) => f.user.id === bob.user.id)).toEqual([]);
  expect(await bob.client.presence([carol.user.id, owner.user.id])).toEqual([
    { userId: carol.user.id, status: 'unknown' },
    { userId: owner.user.id, status: 'online' },
  ]);

  await carol.client.unblock(bob.username);
  expect((await bob.client.send({ to: carol.username, text: 'sorry' })).text).toBe('sorry');
});
