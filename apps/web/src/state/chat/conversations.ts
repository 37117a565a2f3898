// The conversation list as the store keeps it: every page of /chat/conversations
// (one refresh at a time), a conversation from a REST answer or a frame merged with
// what the list knew of it, and a conversation I am no longer in taken out.
import type { Conversation, ConversationSummary, MemberChange } from '@parley/contracts';
import { applyConversationUpdate } from '@parley/client';
import type { ChatState } from './shared-state';
import type { ChatUsers } from './users';

export type ChatConversations = ReturnType<typeof createChatConversations>;

export function createChatConversations(state: ChatState, people: ChatUsers) {
  const { client, conversationsById, conversationsLoaded, activeId, panel, live, showNotice } =
    state;
  const { learnMembers } = people;

  let listRefresh: Promise<void> | null = null;
  let listRefreshAgain = false;
  /** Loads every page of /chat/conversations; calls made meanwhile run once after it. */
  function refreshConversations(): Promise<void> {
    if (listRefresh !== null) {
      listRefreshAgain = true;
      return listRefresh;
    }
    listRefresh = (async () => {
      try {
        const all: ConversationSummary[] = [];
        let before: string | undefined;
        do {
          const page = await client.conversations({ limit: 100, ...(before ? { before } : {}) });
          all.push(...page.conversations);
          before = page.nextCursor;
        } while (before !== undefined && all.length < 1000);
        if (live.stopped) return;
        conversationsById.value = Object.fromEntries(all.map((c) => [c.id, c]));
        conversationsLoaded.value = true;
        learnMembers(all);
      } catch (error) {
        if (!live.stopped) showNotice(error, 'Could not load conversations');
      } finally {
        listRefresh = null;
        if (listRefreshAgain && !live.stopped) {
          listRefreshAgain = false;
          void refreshConversations();
        }
      }
    })();
    return listRefresh;
  }

  /** A conversation from a REST answer or a frame, kept with what the list knew of it. */
  function upsertConversation(conversation: Conversation, memberChange?: MemberChange): void {
    const current = conversationsById.value[conversation.id];
    const summary: ConversationSummary = {
      // a large room's partial list is merged with the members known already (§4.2)
      ...applyConversationUpdate(current, { conversation, memberChange }),
      unreadCount: current?.unreadCount ?? 0,
      lastReadSeq: current?.lastReadSeq ?? conversation.lastSeq,
      mentionCount: current?.mentionCount ?? 0,
      muted: current?.muted ?? false,
      ...(current?.mutedUntil !== undefined ? { mutedUntil: current.mutedUntil } : {}),
      ...(conversation.lastMessage === undefined && current?.lastMessage !== undefined
        ? { lastMessage: current.lastMessage }
        : {}),
    };
    conversationsById.value = { ...conversationsById.value, [conversation.id]: summary };
    learnMembers([conversation]);
  }

  /** Rooms I am leaving myself: their last `conversation_updated` needs no notice. */
  const leaving = new Set<string>();

  function forgetConversation(id: string): void {
    const { [id]: _gone, ...rest } = conversationsById.value;
    conversationsById.value = rest;
    live.rt?.untrack(id);
    if (activeId.value === id) {
      activeId.value = null;
      panel.value = { kind: 'none' };
    }
  }

  return { refreshConversations, upsertConversation, leaving, forgetConversation };
}
