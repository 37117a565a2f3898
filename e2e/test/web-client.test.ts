// The web app (apps/web) in a real Chromium against the three services as processes:
// two browser contexts are two people. A direct conversation both ways (typing shown,
// read receipt, unread badge), a reaction and an edit seen live, a room with a third
// member (a Node client), a thread reply, and the websocket service restarted in the
// middle of the room's conversation: both pages show "reconnecting", then every
// message — sent meanwhile over REST by the third member, and typed in a page while
// its socket was down — appears exactly once. Then the §10 features: a mention typed
// with the @ autocomplete, counted and highlighted on the other side; a mute shown in
// the list; an image attached on one side shown inline on the other; a role change
// seen live; a member removed by the owner sees the room go, and again when banned;
// the ban listed for the owner and lifted.
import type { Page } from 'playwright-core';
import {
  createUsers,
  hasChromium,
  logInUi,
  openApp,
  png,
  registerInUi,
  SKIP_REASON,
  uniqueName,
  useWebStack,
  waitFor,
} from '../web/web-app';

if (!hasChromium) process.stderr.write(SKIP_REASON);
const describeWithBrowser = hasChromium ? describe : describe.skip;

/** Texts of the main list's messages, in order (pending ones included). */
function messageTexts(page: Page): Promise<string[]> {
  return page.locator('.conversation .message-list > li.message .message-text').allInnerTexts();
}

function messageWith(page: Page, text: string) {
  return page.locator('.conversation li.message', { hasText: text });
}

async function openConversation(page: Page, title: string): Promise<void> {
  await page.locator('.conversation-row', { hasText: title }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

async function send(page: Page, text: string, where = '.conversation'): Promise<void> {
  const box = page.locator(`${where} .composer textarea`);
  await box.fill(text);
  await box.press('Enter');
}

describeWithBrowser('web client in Chromium', () => {
  const e2e = useWebStack();

  test('When two people chat in the browser, a room has three members and the websocket service restarts, then everything shows live and exactly once', async () => {
    const { stack, app, browser } = e2e;
    const names = { alice: uniqueName('alice'), bob: uniqueName('bob') };
    const password = 'correct horse battery';
    const a = await openApp(browser, app);
    const b = await openApp(browser, app);
    const alice = a.page;
    const bob = b.page;
    await Promise.all([
      registerInUi(alice, names.alice, 'Alice Liddell', password),
      registerInUi(bob, names.bob, 'Bob Marley', password),
    ]);

    // ---- a direct conversation, both ways ----
    await alice.getByRole('button', { name: 'New message' }).click();
    await alice.getByRole('dialog').getByLabel('Username').fill(names.bob);
    await alice.getByRole('button', { name: 'Open conversation' }).click();
    await alice.getByRole('heading', { level: 1, name: 'Bob Marley' }).waitFor();
    await send(alice, 'Hi Bob, it is Alice');
    await messageWith(alice, 'Hi Bob, it is Alice')
      .locator('[data-message-id]')
      .or(messageWith(alice, 'Hi Bob, it is Alice'))
      .first()
      .waitFor();
    await waitFor(async () => (await alice.locator('li.message.pending').count()) === 0, {
      description: 'alice’s send acknowledged',
    });

    // bob sees the conversation appear with one unread message
    const bobRow = bob.locator('.conversation-row', { hasText: 'Alice Liddell' });
    await bobRow.getByLabel('1 unread').waitFor();
    await openConversation(bob, 'Alice Liddell');
    await messageWith(bob, 'Hi Bob, it is Alice').waitFor();
    await bobRow.getByLabel('1 unread').waitFor({ state: 'detached' });
    // bob's read marker reaches alice
    await alice.getByText('Seen by Bob Marley').waitFor();

    // typing shows on the other side
    await bob.locator('.conversation .composer textarea').pressSequentially('Hi Al', { delay: 20 });
    await alice.getByText('Bob Marley is typing…').waitFor();
    await bob.locator('.conversation .composer textarea').pressSequentially('ice!');
    await bob.locator('.conversation .composer textarea').press('Enter');
    await messageWith(alice, 'Hi Alice!').waitFor();
    await alice.getByText('Bob Marley is typing…').waitFor({ state: 'detached' });

    // a reaction from alice shows on bob's page
    const onAlice = messageWith(alice, 'Hi Alice!');
    await onAlice.hover();
    await onAlice.getByRole('button', { name: 'Add reaction' }).click();
    await onAlice.getByRole('button', { name: 'React with 🎉' }).click();
    await messageWith(bob, 'Hi Alice!').getByRole('button', { name: /🎉 1/ }).waitFor();

    // an edit from bob shows on alice's page
    const onBob = messageWith(bob, 'Hi Alice!');
    await onBob.hover();
    await onBob.getByRole('button', { name: 'Edit message' }).click();
    await bob.getByLabel('Edit message').fill('Hi Alice! Good to see you here.');
    await bob.getByLabel('Edit message').press('Enter');
    await messageWith(alice, 'Good to see you here.').getByText('(edited)').waitFor();

    // ---- a room with three members: alice and bob in browsers, carol over @parley/client ----
    const room = uniqueName('general');
    await alice.getByRole('button', { name: 'Rooms' }).click();
    await alice.getByRole('dialog').getByLabel('New room').fill(room);
    await alice.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await alice.getByRole('heading', { level: 1, name: room }).waitFor();

    await bob.getByRole('button', { name: 'Rooms' }).click();
    await bob.getByRole('button', { name: `Join ${room}` }).click();
    await bob.getByRole('heading', { level: 1, name: room }).waitFor();

    const [carol] = await createUsers(stack, ['carol']);
    const roomId = (await carol!.client.listRooms()).find((r) => r.name === room)?.id;
    expect(roomId).toBeDefined();
    await carol!.client.joinRoom(roomId!);
    const carolSeen: string[] = [];
    const carolRt = await carol!.client.connect({ backoff: { baseMs: 100, maxMs: 1_000 } });
    carolRt.on('message', ({ message }) => {
      if (message.conversationId === roomId) carolSeen.push(message.text);
    });

    await carol!.client.send({ conversationId: roomId!, text: 'Carol here, hello room' });
    await messageWith(alice, 'Carol here, hello room').waitFor();
    await messageWith(bob, 'Carol here, hello room').waitFor();
    await send(alice, 'Welcome, both of you');
    await messageWith(bob, 'Welcome, both of you').waitFor();
    await waitFor(() => carolSeen.includes('Welcome, both of you'), {
      description: 'carol got alice’s message',
    });

    // the member list shows all three
    await bob.getByRole('button', { name: 'Members' }).click();
    const members = bob.getByRole('complementary', { name: 'Members' }).locator('li.member');
    await waitFor(async () => (await members.count()) === 3, {
      description: 'three members listed',
    });
    await bob.getByRole('button', { name: 'Close members' }).click();

    // a reply in a thread
    const welcome = messageWith(bob, 'Welcome, both of you');
    await welcome.hover();
    await welcome.getByRole('button', { name: 'Reply in thread' }).click();
    await send(bob, 'Thanks Alice (in a thread)', '.thread-panel');
    await messageWith(alice, 'Welcome, both of you')
      .getByRole('button', { name: '1 reply' })
      .click();
    await alice
      .locator('.thread-panel li.message', { hasText: 'Thanks Alice (in a thread)' })
      .waitFor();
    await alice.getByRole('button', { name: 'Close thread' }).click();

    // ---- the websocket service goes away mid-conversation and comes back ----
    const ws = stack.services.websockets[0]!;
    await ws.stop();
    await alice.locator('[data-connection="reconnecting"]').waitFor();
    await bob.locator('[data-connection="reconnecting"]').waitFor();
    const duringOutage = [
      'While you were away 1',
      'While you were away 2',
      'While you were away 3',
    ];
    for (const text of duringOutage) await carol!.client.send({ conversationId: roomId!, text });
    await send(alice, 'Typed while offline'); // held by the client, sent after reconnecting
    await alice.locator('li.message.pending', { hasText: 'Typed while offline' }).waitFor();
    await ws.start();

    const expected = [
      'Carol here, hello room',
      'Welcome, both of you',
      ...duringOutage,
      'Typed while offline',
    ];
    for (const page of [alice, bob]) {
      await page.locator('[data-connection]').waitFor({ state: 'detached', timeout: 45_000 });
      await waitFor(async () => (await messageTexts(page)).length >= expected.length, {
        timeoutMs: 20_000,
        description: 'every room message shown',
      });
    }
    await waitFor(async () => (await alice.locator('li.message.pending').count()) === 0, {
      description: 'the offline send acknowledged',
    });
    for (const page of [alice, bob]) {
      const texts = await messageTexts(page);
      expect(texts.map((t) => t.replace(/\s*\(edited\)$/, ''))).toEqual(expected);
    }
    await waitFor(() => carolSeen.includes('Typed while offline'), {
      description: 'carol got the offline send',
    });
    expect(carolSeen.filter((t) => t === 'Typed while offline')).toHaveLength(1);

    // and the conversation goes on after the restart
    await send(bob, 'Back again');
    await messageWith(alice, 'Back again').waitFor();
    carolRt.close();
    await Promise.all([a.context.close(), b.context.close()]);
  }, 180_000);

  test('When the owner mentions a member, sends an image, promotes and then removes them, then the mention is counted and highlighted, the image shown, and the room disappears for them (a ban too, until lifted)', async () => {
    const { stack, app, browser } = e2e;
    const [owner, member] = await createUsers(stack, ['olga', 'max']);
    const room = uniqueName('moderated');
    const o = await openApp(browser, app);
    const m = await openApp(browser, app);
    const olga = o.page;
    const max = m.page;
    await Promise.all([
      logInUi(olga, owner!.username, owner!.password),
      logInUi(max, member!.username, member!.password),
    ]);

    // olga creates the room in the app; max joins it over the client (his page only lists it)
    await olga.getByRole('button', { name: 'Rooms' }).click();
    await olga.getByRole('dialog').getByLabel('New room').fill(room);
    await olga.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await olga.getByRole('heading', { level: 1, name: room }).waitFor();
    const roomId = (await owner!.client.listRooms()).find((r) => r.name === room)!.id;
    await member!.client.joinRoom(roomId);
    const maxRow = max.locator('.conversation-row', { hasText: room });
    await maxRow.waitFor();

    // a mention picked from the autocomplete
    const box = olga.locator('.conversation .composer textarea');
    await box.pressSequentially(`@${member!.username.slice(0, 4)}`);
    await olga.getByRole('option', { name: new RegExp(member!.username) }).waitFor();
    await box.press('Enter');
    expect(await box.inputValue()).toBe(`@${member!.username} `);
    await box.pressSequentially('please have a look');
    await box.press('Enter');

    // counted in max's list, then highlighted when he opens the room
    await maxRow.getByLabel('1 mention', { exact: true }).waitFor();
    await maxRow.getByLabel('1 unread').waitFor();
    await openConversation(max, room);
    const mentioned = messageWith(max, 'please have a look');
    await mentioned.and(max.locator('.mentions-me')).waitFor();
    expect(await mentioned.locator('.mention.to-me').innerText()).toBe(`@${member!.username}`);
    await maxRow.getByLabel('1 mention', { exact: true }).waitFor({ state: 'detached' });

    // an image olga attaches (uploaded at once, sent with the text) shows inline for max
    await olga.locator('.conversation .composer input[type=file]').setInputFiles({
      name: 'gradient.png',
      mimeType: 'image/png',
      buffer: png(240, 160),
    });
    await olga.locator('.composer .upload.done', { hasText: 'gradient.png' }).waitFor();
    await send(olga, 'The new logo');
    const image = messageWith(max, 'The new logo').getByRole('img', { name: 'gradient.png' });
    await image.waitFor();
    await waitFor(
      () => image.evaluate((img) => (img as { naturalWidth?: number }).naturalWidth === 240),
      {
        description: 'the image’s bytes shown on max’s page',
      },
    );

    // max mutes the room for an hour: the list says until when
    await max.getByRole('button', { name: 'Conversation options' }).click();
    await max.getByRole('menuitem', { name: 'For 1 hour' }).click();
    await maxRow
      .locator('.muted-tag')
      .getByText(/^Muted until /)
      .waitFor();

    // olga makes max an admin: his member list shows it live
    await max.getByRole('button', { name: 'Members' }).click();
    const maxInHisList = max.locator(`.members-panel li.member[data-user-id="${member!.user.id}"]`);
    await maxInHisList.waitFor();
    await olga.getByRole('button', { name: 'Members' }).click();
    await olga.getByRole('button', { name: `Actions for @${member!.username}` }).click();
    await olga.getByRole('menuitem', { name: 'Make admin' }).click();
    await maxInHisList.locator('.role-badge.admin').waitFor();

    // and removes him (the confirm is accepted): the room goes from max's page
    await olga.getByRole('button', { name: `Actions for @${member!.username}` }).click();
    await olga.getByRole('menuitem', { name: 'Remove from room' }).click();
    await olga
      .locator(`.members-panel li.member[data-user-id="${member!.user.id}"]`)
      .waitFor({ state: 'detached' });
    await maxRow.waitFor({ state: 'detached' });
    await max.getByRole('heading', { level: 1, name: room }).waitFor({ state: 'detached' });
    await max.getByRole('alert').getByText(`You are no longer a member of ${room}.`).waitFor();

    // he comes back; olga bans him (he sees the room go again), then lifts the ban
    await member!.client.joinRoom(roomId);
    await maxRow.waitFor();
    await olga.getByRole('button', { name: `Actions for @${member!.username}` }).click();
    await olga.getByRole('menuitem', { name: 'Ban from room' }).click();
    await maxRow.waitFor({ state: 'detached' });
    const banEntry = olga.locator(`.ban-list li[data-banned-user-id="${member!.user.id}"]`);
    await banEntry.waitFor();
    await expect(member!.client.joinRoom(roomId)).rejects.toMatchObject({ code: 'banned' });
    await banEntry.getByRole('button', { name: `Lift the ban on @${member!.username}` }).click();
    await banEntry.waitFor({ state: 'detached' });
    await member!.client.joinRoom(roomId);
    await maxRow.waitFor();

    await Promise.all([o.context.close(), m.context.close()]);
  }, 120_000);

  test('When a conversation has more than two pages of history, then scrolling up loads the older pages in order, each message once', async () => {
    const { stack, app, browser } = e2e;
    const [dora, eve] = await createUsers(stack, ['dora', 'eve']);
    const total = 110; // the app loads 50 at a time
    const first = await eve!.client.send({ to: dora!.username, text: 'old 1' });
    for (let i = 2; i <= total; i += 1) {
      // both sides write, each within the send limit (60 per 10 s)
      const sender = i % 2 === 0 ? dora! : eve!;
      await sender.client.send({ conversationId: first.conversationId, text: `old ${i}` });
    }
    const { page, context } = await openApp(browser, app);
    await logInUi(page, dora!.username, dora!.password);
    await openConversation(page, eve!.username);
    await messageWith(page, `old ${total}`).waitFor();
    expect((await messageTexts(page)).length).toBeLessThan(total);

    const start = page.getByText('This is the start of the conversation.');
    await page.locator('.message-scroller').hover();
    await waitFor(
      async () => {
        await page.mouse.wheel(0, -4_000);
        return start.isVisible();
      },
      { timeoutMs: 20_000, description: 'the start of the conversation' },
    );
    expect(await messageTexts(page)).toEqual(
      Array.from({ length: total }, (_, i) => `old ${i + 1}`),
    );
    await context.close();
  }, 120_000);
});
