// The whole product as a user meets it, over the three real service processes: one
// story from registration to going offline, each step checked on every device it
// should reach (and on the one it should not). Alice's phone is a raw socket, so the
// exact frames it gets are visible; every other device is the real client.
import type { Message } from '@parley/contracts';
import {
  connect,
  createUsers,
  Inbox,
  openRawSocket,
  type RawSocket,
  type TestUser,
  tokenOf,
  useStack,
  waitFor,
} from '@parley/testing';

const e2e = useStack({ name: 'story' });

let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let phone: RawSocket; // alice's first device
let laptop: Inbox; // alice's second device
let bobRt: Inbox;
let carolRt: Inbox;
let dm = '';
async function realtime(user: TestUser): Promise<Inbox> {
  return new Inbox(await connect(user));
}

afterAll(async () => {
  await phone?.close();
});

test('When three people register and log in, then each can read their own profile', async () => {
  const users = await createUsers(e2e.stack, ['alice', 'bob', 'carol']);
  [alice, bob, carol] = users as [TestUser, TestUser, TestUser];
  for (const user of [alice, bob, carol]) {
    expect(await user.client.me()).toEqual(user.user);
  }
  expect((await alice.client.getUser(bob.username)).id).toBe(bob.user.id);
});

test('When alice connects two devices, then bob watching her presence sees her online', async () => {
  bobRt = await realtime(bob);
  carolRt = await realtime(carol);
  // presence is shown only to someone who shares a conversation (docs/design.md §4.14)
  await alice.client.createRoom({ name: 'friends', isPrivate: true, members: [bob.username] });
  bobRt.rt.presenceSubscribe([alice.user.id]);
  await bobRt.waitIn(
    bobRt.presence,
    (p) => p.userId === alice.user.id && p.status === 'offline',
    'alice offline before she connects',
  );
  phone = await openRawSocket(e2e.stack.websocketUrls[0] as string, tokenOf(alice));
  laptop = await realtime(alice);
  await bobRt.waitIn(
    bobRt.presence,
    (p) => p.userId === alice.user.id && p.status === 'online',
    'alice online',
  );
  expect(await alice.client.presence([alice.user.id, bob.user.id])).toEqual([
    { userId: alice.user.id, status: 'online' },
    { userId: bob.user.id, status: 'online' },
  ]);
});

test('When alice sends over WS from her phone, then the phone gets only its ack, her laptop and bob get the message', async () => {
  phone.sendJson({
    type: 'send',
    ref: 'story-ws-1',
    to: bob.username,
    text: 'hi bob, from my phone',
  });
  const ack = await phone.next('ack');
  expect(ack.ref).toBe('story-ws-1');
  expect(ack.message).toMatchObject({
    seq: 1,
    text: 'hi bob, from my phone',
    clientMsgId: 'story-ws-1',
  });
  dm = ack.message.conversationId;

  const [atLaptop] = await laptop.waitForMessages(dm, 1);
  const [atBob] = await bobRt.waitForMessages(dm, 1);
  expect(atLaptop?.id).toBe(ack.message.id);
  expect(atBob?.id).toBe(ack.message.id);
  expect(bobRt.messages[0]).toMatchObject({
    source: 'live',
    conversation: { id: dm, kind: 'direct' },
  });

  // bob answers over REST: it reaches both of alice's devices, and shows the phone got
  // nothing for its own message beyond the ack (an echo would have come first).
  const reply = await bob.client.send({ conversationId: dm, text: 'hi alice, over REST' });
  expect(reply.seq).toBe(2);
  const onPhone = await phone.next('message');
  expect(onPhone.message.id).toBe(reply.id);
  expect(phone.frames.map((f) => f.type)).toEqual(['ready', 'ack', 'message']);
  await laptop.waitForMessages(dm, 2);
  await bobRt.waitForMessages(dm, 2);
  expect(laptop.of(dm).map((m) => m.seq)).toEqual([1, 2]);
  expect(bobRt.of(dm).map((m) => m.seq)).toEqual([1, 2]);
  expect(carolRt.of(dm)).toEqual([]);
});

test('When alice sends with the client over WS, then it resolves on the ack and bob gets it once', async () => {
  const sent = await laptop.rt.send({ conversationId: dm, text: 'and one from my laptop' });
  expect(sent.seq).toBe(3);
  await bobRt.waitForMessages(dm, 3);
  expect((await phone.next('message')).message.id).toBe(sent.id);
  expect(laptop.messages.find((d) => d.message.id === sent.id)?.source).toBe('ack');
  expect(bobRt.deliveries(sent.id)).toBe(1);
  expect(laptop.deliveries(sent.id)).toBe(1);
});

test('When alice reads the history, then it has the three messages in seq order', async () => {
  const page = await alice.client.history({ with: bob.username });
  expect(page.conversationId).toBe(dm);
  expect(page.messages.map((m) => [m.seq, m.sender.username, m.text])).toEqual([
    [1, alice.username, 'hi bob, from my phone'],
    [2, bob.username, 'hi alice, over REST'],
    [3, alice.username, 'and one from my laptop'],
  ]);
  expect(page.hasMore).toBe(false);
  const older = await alice.client.history({ conversationId: dm, before: 3, limit: 1 });
  expect(older.messages.map((m) => m.seq)).toEqual([2]);
  expect(older.hasMore).toBe(true);
});

describe('rooms', () => {
  let room = '';
  let roomMessage: Message;

  test('When alice creates a private room with bob and invites carol, then each member is told live', async () => {
    const created = await alice.client.createRoom({
      name: 'plans',
      isPrivate: true,
      members: [bob.username],
    });
    room = created.id;
    const memberNames = (members: { username: string }[]) => members.map((m) => m.username).sort();
    expect(memberNames(created.members)).toEqual([alice.username, bob.username].sort());
    await bobRt.waitIn(
      bobRt.conversationUpdates,
      (u) => u.conversation.id === room,
      'bob told of the new room',
    );
    await expect(carol.client.getRoom(room)).rejects.toMatchObject({ status: 404 });

    await alice.client.invite(room, carol.username);
    const atCarol = await carolRt.waitIn(
      carolRt.conversationUpdates,
      (u) => u.conversation.id === room,
      'carol told of the invite',
    );
    expect(memberNames(atCarol.conversation.members)).toEqual(
      [alice.username, bob.username, carol.username].sort(),
    );
    await laptop.waitIn(
      laptop.conversationUpdates,
      (u) => u.conversation.id === room && u.conversation.members.length === 3,
      'alice told carol joined',
    );
  });

  test('When bob writes to the room, then every member device gets it', async () => {
    roomMessage = await bob.client.send({ conversationId: room, text: 'friday?' });
    await carolRt.waitForMessages(room, 1);
    await laptop.waitForMessages(room, 1);
    expect((await phone.next('message')).message.id).toBe(roomMessage.id);
    await bobRt.waitForMessages(room, 1);
    for (const inbox of [carolRt, laptop, bobRt]) {
      expect(inbox.of(room).map((m) => m.id)).toEqual([roomMessage.id]);
    }
  });

  test('When a message is reacted to, edited and deleted, then every member sees each change live', async () => {
    const allSee = (count: number, what: string) =>
      Promise.all(
        [carolRt, laptop, bobRt].map((inbox) =>
          waitFor(() => inbox.updatesOf(roomMessage.id)[count - 1] && inbox, {
            description: `${what} at ${inbox === carolRt ? 'carol' : inbox === laptop ? 'alice' : 'bob'}`,
          }),
        ),
      );

    await carol.client.react(roomMessage.id, '👍');
    for (const inbox of await allSee(1, 'the reaction')) {
      expect(inbox.updatesOf(roomMessage.id)[0]).toEqual({
        type: 'reaction',
        messageId: roomMessage.id,
        conversationId: room,
        emoji: '👍',
        userId: carol.user.id,
        added: true,
      });
      expect(inbox.current(roomMessage.id)?.reactions).toEqual({ '👍': [carol.user.id] });
    }
    await bob.client.editMessage(roomMessage.id, 'friday at 8?');
    for (const inbox of await allSee(2, 'the edit')) {
      expect(inbox.current(roomMessage.id)).toMatchObject({
        text: 'friday at 8?',
        editedAt: expect.any(String),
        reactions: { '👍': [carol.user.id] },
      });
    }
    await bob.client.deleteMessage(roomMessage.id);
    for (const inbox of await allSee(3, 'the delete')) {
      expect(inbox.current(roomMessage.id)).toMatchObject({
        text: '',
        deletedAt: expect.any(String),
        reactions: {},
      });
    }
    const phoneUpdates = await waitFor(() => {
      const frames = phone.frames.filter(
        (f) => f.type === 'message_updated' || f.type === 'reaction',
      );
      return frames.length >= 3 && frames;
    });
    expect(phoneUpdates).toHaveLength(3);
    const history = await carol.client.history({ conversationId: room });
    expect(history.messages).toEqual([
      expect.objectContaining({ seq: 1, text: '', deletedAt: expect.any(String) }),
    ]);
  });

  test('When carol marks the room read, then the others get the read marker and her unread count is 0', async () => {
    const second = await alice.client.send({ conversationId: room, text: 'yes, 8' });
    await carolRt.waitForMessages(room, 2);
    const before = await carol.client.conversations();
    expect(before.conversations.find((c) => c.id === room)).toMatchObject({ unreadCount: 2 });

    await carol.client.markRead(room, second.seq);
    for (const inbox of [bobRt, laptop]) {
      const read = await inbox.waitIn(
        inbox.reads,
        (r) => r.conversationId === room && r.userId === carol.user.id,
        'carol read marker',
      );
      expect(read.seq).toBe(2);
    }
    const after = await carol.client.conversations();
    expect(after.conversations.find((c) => c.id === room)).toMatchObject({
      unreadCount: 0,
      lastReadSeq: 2,
    });
  });

  test('When carol joins a public room and leaves it, then alice sees both changes live', async () => {
    const lobby = await alice.client.createRoom({ name: 'lobby' });
    expect((await carol.client.listRooms()).map((r) => r.id)).toContain(lobby.id);
    await carol.client.joinRoom(lobby.id);
    await laptop.waitIn(
      laptop.conversationUpdates,
      (u) =>
        u.conversation.id === lobby.id &&
        u.conversation.members.some((m) => m.id === carol.user.id),
      'alice told carol joined the lobby',
    );
    await carol.client.leaveRoom(lobby.id);
    await laptop.waitIn(
      laptop.conversationUpdates,
      (u) =>
        u.conversation.id === lobby.id &&
        u.conversation.members.length === 1 &&
        !u.conversation.members.some((m) => m.id === carol.user.id),
      'alice told carol left the lobby',
    );
    // members before and after are told: carol learns she is out
    await carolRt.waitIn(
      carolRt.conversationUpdates,
      (u) => u.conversation.id === lobby.id && u.conversation.members.length === 1,
      'carol told she left',
    );
    await expect(
      carol.client.send({ conversationId: lobby.id, text: 'still here?' }),
    ).rejects.toMatchObject({ status: 403, code: 'not_a_member' });
  });
});

test('When alice closes both devices, then bob sees her offline', async () => {
  const seen = bobRt.presence.length;
  laptop.rt.close(); // still online on her phone
  await phone.close();
  await bobRt.waitIn(
    bobRt.presence,
    (p) => p.userId === alice.user.id && p.status === 'offline',
    'alice offline at bob',
    { from: seen },
  );
  expect(bobRt.presence.slice(seen)).toEqual([
    { type: 'presence', userId: alice.user.id, status: 'offline' },
  ]);
  expect(await bob.client.presence([alice.user.id])).toEqual([
    { userId: alice.user.id, status: 'offline' },
  ]);
  // nothing was ever delivered twice to any client
  for (const inbox of [laptop, bobRt, carolRt]) expect(inbox.duplicateCount()).toBe(0);
});
