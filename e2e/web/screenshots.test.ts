// Takes the screenshots shown in apps/web/README.md: `pnpm screenshots` (not part of
// `pnpm test`). A stack of its own with a few people, rooms and messages made through
// @parley/client, then the app in Chromium as one of them, at desktop and phone sizes.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  hasChromium,
  logInUi,
  openApp,
  png,
  registerUser,
  SKIP_REASON,
  useWebStack,
  waitFor,
} from './web-app';

const out = path.resolve(__dirname, '../../apps/web/screenshots');
const desktop = { width: 1200, height: 720 };
const phone = { width: 360, height: 720 };

if (!hasChromium) process.stderr.write(SKIP_REASON);
const describeWithBrowser = hasChromium ? describe : describe.skip;

function row(page: Page, title: string) {
  return page
    .locator('.conversation-row')
    .filter({ has: page.locator('.row-title', { hasText: title }) });
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300); // let transitions and fonts settle
  const file = path.join(out, `${name}.png`);
  await page.screenshot({ path: file });
  // Smaller files for the README, where pngquant is installed (apt-get install pngquant).
  if (existsSync('/usr/bin/pngquant')) {
    spawnSync('/usr/bin/pngquant', [
      '--force',
      '--skip-if-larger',
      '--quality',
      '70-95',
      '--output',
      file,
      file,
    ]);
  }
}

describeWithBrowser('screenshots', () => {
  const e2e = useWebStack('screens');

  test('the main screens', async () => {
    const { stack, app, browser } = e2e;
    const password = 'pw-ada-secret';
    const [ada, grace, linus, margaret] = await Promise.all([
      registerUser(stack, 'ada', 'Ada Lovelace', password),
      registerUser(stack, 'grace', 'Grace Hopper'),
      registerUser(stack, 'linus', 'Linus Torvalds'),
      registerUser(stack, 'margaret', 'Margaret Hamilton'),
    ]);
    const say = (
      client: typeof ada,
      to: { to?: string; conversationId?: string },
      text: string,
      parentId?: string,
    ) =>
      client.send({ ...to, text, ...(parentId ? { parentId } : {}) } as Parameters<
        typeof ada.send
      >[0]);

    // a direct conversation with Grace
    const g1 = await say(grace, { to: 'ada' }, 'Morning Ada! Did the new engine notes make sense?');
    const dm = { conversationId: g1.conversationId };
    await say(ada, dm, 'They did. The loop over the Bernoulli numbers is lovely.');
    await say(ada, dm, 'I think we can cut the card count by a third.');
    const g2 = await say(grace, dm, 'Ship it. I will bring coffee ☕');
    await ada.react(g2.id, '🎉');
    const a3 = await say(ada, dm, 'Deal. See you at 10:30');
    await ada.editMessage(a3.id, 'Deal. See you at 10:30 in the lab');

    // a room with four members and a thread
    const room = await ada.createRoom({
      name: 'compilers',
      members: ['grace', 'linus', 'margaret'],
    });
    const r = { conversationId: room.id };
    await say(linus, r, 'Patch for the register allocator is up for review.');
    const m1 = await say(
      margaret,
      r,
      'Reviewing now. Are we sure about the spill heuristic on deep recursion?',
    );
    await say(linus, r, 'Good question, let us take it to a thread', m1.id);
    await say(grace, r, 'I measured it last week: spills drop 18 % on the benchmark set.', m1.id);
    await say(margaret, r, 'Then I am happy. Approving.', m1.id);
    const graph = await linus.uploadAttachment(png(480, 200), {
      name: 'spills-before-after.png',
      contentType: 'image/png',
    });
    const notes = await linus.uploadAttachment(
      new TextEncoder().encode('register allocator notes\n'.repeat(400)),
      { name: 'allocator-notes.txt', contentType: 'text/plain' },
    );
    await linus.send({
      ...r,
      text: 'The numbers, and my notes',
      attachmentIds: [graph.id, notes.id],
    });
    const l2 = await say(linus, r, 'Thanks all! Merging after lunch 🚀');
    await grace.react(l2.id, '👍');
    await margaret.react(l2.id, '👍');
    await ada.setRoomRole(room.id, 'grace', 'admin');
    await say(grace, r, 'Next up: the optimiser. @ada, would you take it?');
    const reviews = await ada.createRoom({ name: 'design-reviews' });
    await ada.mute(reviews.id, new Date(Date.now() + 3 * 3_600_000).toISOString());
    const random = await linus.createRoom({ name: 'random' });
    await say(linus, { conversationId: random.id }, 'Anyone up for a walk later?');
    await say(margaret, { to: 'ada' }, 'Can you look at the Apollo checklist today?');

    // login screen
    const { page, context } = await openApp(browser, app, desktop);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await shoot(page, 'login');

    // conversation list and the direct conversation
    await logInUi(page, 'ada', password);
    await row(page, 'Grace Hopper').click();
    await page.locator('.message-text', { hasText: 'See you at 10:30 in the lab' }).waitFor();
    const graceTypes = await grace.connect();
    graceTypes.typing(g1.conversationId, true);
    await page.getByText('Grace Hopper is typing…').waitFor();
    await shoot(page, 'direct-message');
    graceTypes.close();

    // the room (a mention of ada highlighted) with its member list, roles and a member's actions
    await row(page, 'compilers').getByLabel('1 mention', { exact: true }).waitFor();
    await row(page, 'compilers').click();
    await page.locator('.message-text', { hasText: 'Next up: the optimiser' }).waitFor();
    await waitFor(
      () =>
        page
          .getByRole('img', { name: 'spills-before-after.png' })
          .evaluate((img) => (img as { complete?: boolean }).complete === true),
      { description: 'the image shown' },
    );
    await page.getByRole('button', { name: 'Members' }).click();
    await waitFor(async () => (await page.locator('li.member').count()) === 4, {
      description: 'members',
    });
    await page.getByRole('button', { name: 'Actions for @linus' }).click();
    await page.getByRole('menuitem', { name: 'Make admin' }).waitFor();
    await shoot(page, 'room-members');
    await page.keyboard.press('Escape');

    // a thread
    await page
      .locator('li.message', { hasText: 'spill heuristic' })
      .getByRole('button', { name: '3 replies' })
      .click();
    await page.locator('.thread-panel').getByText('Then I am happy').waitFor();
    await shoot(page, 'thread');
    await context.close();

    // dark mode and a phone's width
    const dark = await openApp(browser, app, phone, 'dark');
    await logInUi(dark.page, 'grace', 'pw-grace-secret');
    await row(dark.page, 'compilers').click();
    await dark.page.locator('.message-text', { hasText: 'Next up: the optimiser' }).waitFor();
    await dark.page.locator('.conversation .composer textarea').pressSequentially('Thanks @li');
    await dark.page.getByRole('option', { name: /linus/ }).waitFor();
    await shoot(dark.page, 'mobile-dark');
    await dark.page.locator('.conversation .composer textarea').fill('');
    await dark.page.getByRole('button', { name: 'Members' }).click();
    await dark.page.getByRole('button', { name: 'Actions for @margaret' }).click();
    await dark.page.getByRole('menuitem', { name: 'Ban from room' }).waitFor();
    await shoot(dark.page, 'mobile-members');
    await dark.context.close();
  }, 180_000);
});
