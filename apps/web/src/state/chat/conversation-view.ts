// What is on screen: the open conversation (its latest page loaded on open, older ones
// paged on scroll-back), a direct conversation opened by username, the side panel
// (a thread with all its replies, or the member list), and my read marker.
import { batch, signal } from '@preact/signals';
import { applyOwnRead } from '../../model/conversation-list';
import { newestSeq, withHistoryPage, withMessages } from '../../model/message-timeline';
import type { ChatState } from './shared-state';
import type { ChatUsers } from './users';

const PAGE_SIZE = 50;

export type ConversationView = ReturnType<typeof createConversationView>;

export function createConversationView(state: ChatState, people: ChatUsers) {
  const { client, conversationsById, timelines, drafts, activeId, panel, users, pageVisible } =
    state;
  const { live, showNotice, updateTimeline, updateSummary } = state;
  const { ensureUsers, watchPresence } = people;

  async function loadLatest(id: string): Promise<void> {
    try {
      const page = await client.history({ conversationId: id, limit: PAGE_SIZE });
      if (live.stopped) return;
      updateTimeline(id, (t) => withHistoryPage(t, page, 'latest'));
      ensureUsers(page.messages.map((m) => m.sender.id));
    } catch (error) {
      showNotice(error, 'Could not load messages');
    }
  }

  const loadingOlder = signal<Readonly<Record<string, boolean>>>({});
  async function loadOlder(id: string): Promise<void> {
    const timeline = timelines.value[id];
    if (timeline === undefined || !timeline.hasMoreBefore || loadingOlder.value[id]) return;
    if (timeline.floorSeq === undefined) return;
    loadingOlder.value = { ...loadingOlder.value, [id]: true };
    try {
      const page = await client.history({
        conversationId: id,
        before: timeline.floorSeq,
        limit: PAGE_SIZE,
      });
      updateTimeline(id, (t) => withHistoryPage(t, page, 'before'));
      ensureUsers(page.messages.map((m) => m.sender.id));
    } catch (error) {
      showNotice(error, 'Could not load older messages');
    } finally {
      loadingOlder.value = { ...loadingOlder.value, [id]: false };
    }
  }

  function openConversation(id: string | null): void {
    batch(() => {
      if (activeId.value !== id) panel.value = { kind: 'none' };
      activeId.value = id;
    });
    if (id === null) return;
    const summary = conversationsById.value[id];
    if (summary?.kind === 'room') {
      watchPresence(summary.members.map((m) => m.id));
      ensureUsers(summary.members.map((m) => m.id));
    }
    if (!(timelines.value[id]?.loaded ?? false)) void loadLatest(id);
  }

  /** Opens the direct conversation with `username` (a draft until its first message). */
  async function openDirect(username: string): Promise<void> {
    const name = username.trim().toLowerCase();
    const [partner, page] = await Promise.all([
      client.getUser(name),
      client.history({ with: name, limit: PAGE_SIZE }),
    ]);
    batch(() => {
      users.value = { ...users.value, [partner.id]: partner };
      updateTimeline(page.conversationId, (t) => withHistoryPage(t, page, 'latest'));
      if (conversationsById.value[page.conversationId] === undefined) {
        drafts.value = {
          ...drafts.value,
          [page.conversationId]: { conversationId: page.conversationId, partner },
        };
      }
    });
    watchPresence([partner.id]);
    openConversation(page.conversationId);
  }

  async function openThread(rootId: string): Promise<void> {
    const id = activeId.value;
    if (id === null) return;
    panel.value = { kind: 'thread', rootId };
    try {
      let after: number | undefined;
      for (;;) {
        const page = await client.replies(rootId, { limit: 100, ...(after ? { after } : {}) });
        updateTimeline(id, (t) => withMessages(t, page.messages));
        ensureUsers(page.messages.map((m) => m.sender.id));
        after = page.messages.at(-1)?.seq;
        if (!page.hasMore || after === undefined) break;
      }
    } catch (error) {
      showNotice(error, 'Could not load the thread');
    }
  }

  function showMembers(open: boolean): void {
    panel.value = open ? { kind: 'members' } : { kind: 'none' };
  }

  function closePanel(): void {
    panel.value = { kind: 'none' };
  }

  /** Moves my read marker to the newest loaded message (called when the bottom is in view). */
  function markRead(id: string): void {
    const summary = conversationsById.value[id];
    const timeline = timelines.value[id];
    if (summary === undefined || timeline === undefined || !pageVisible.value) return;
    const seq = newestSeq(timeline);
    if (seq <= summary.lastReadSeq) return;
    updateSummary(id, (c) => applyOwnRead(c, seq));
    client.markRead(id, seq).catch(() => undefined); // the next view retries it
  }

  return {
    loadingOlder,
    loadLatest,
    loadOlder,
    openConversation,
    openDirect,
    openThread,
    showMembers,
    closePanel,
    markRead,
  };
}
