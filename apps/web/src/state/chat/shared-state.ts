// The chat store's shared state: the signals more than one part of the store reads or
// changes, the realtime connection while started, the timers (none fires after stop),
// and the small helpers every part uses (a notice, an announcement, a change to one
// timeline or one conversation summary). Each part (./*.ts) is built over this.
import type { ParleyClient, RealtimeConnection, RealtimeOptions } from '@parley/client';
import type { Conversation, ConversationSummary, PresenceStatus, User } from '@parley/contracts';
import { computed, signal } from '@preact/signals';
import { sortConversations, totalBadge } from '../../model/conversation-list';
import { emptyTimeline, type Timeline } from '../../model/message-timeline';
import type { ReadState } from '../../model/read-receipts';
import type { TypingState } from '../../model/typing-state';
import { errorText } from '../error-text';
import type { UploadTransport } from '../upload-transport';

export type ConnectionState =
  | { status: 'connecting' }
  | { status: 'syncing' }
  | { status: 'online' }
  | { status: 'reconnecting'; retryAt: number; attempt: number };

/** A direct conversation opened by username that has no message yet. */
export interface DirectDraft {
  conversationId: string;
  partner: User;
}

export type SidePanel = { kind: 'none' } | { kind: 'thread'; rootId: string } | { kind: 'members' };

export interface ChatStoreDeps {
  client: ParleyClient;
  /** The user's session ended (refresh refused): back to the login screen. */
  onSessionEnded: (reason: string) => void;
  realtime?: RealtimeOptions;
  now?: () => number;
  /** Reports upload progress (see upload-transport.ts); without it uploads show no bytes. */
  uploads?: Pick<UploadTransport, 'watch'>;
}

export type ChatState = ReturnType<typeof createChatState>;

export function createChatState(deps: ChatStoreDeps) {
  const { client } = deps;
  const now = deps.now ?? Date.now;
  const me = client.user;
  if (me === null) throw new Error('createChatStore needs a logged-in client');

  // ---- state ----
  const connection = signal<ConnectionState>({ status: 'connecting' });
  const conversationsById = signal<Readonly<Record<string, ConversationSummary>>>({});
  const conversationsLoaded = signal(false);
  const timelines = signal<Readonly<Record<string, Timeline>>>({});
  const drafts = signal<Readonly<Record<string, DirectDraft>>>({});
  const activeId = signal<string | null>(null);
  const panel = signal<SidePanel>({ kind: 'none' });
  const users = signal<Readonly<Record<string, User>>>({ [me.id]: me });
  const presence = signal<Readonly<Record<string, PresenceStatus>>>({});
  const typing = signal<TypingState>({});
  const reads = signal<ReadState>({});
  const rooms = signal<readonly Conversation[] | null>(null);
  const clock = signal(now());
  /** The newest text for screen readers (an aria-live region shows it). */
  const announcement = signal<{ text: string; id: number }>({ text: '', id: 0 });
  /** A passing error to show (a toast); cleared by the UI. */
  const notice = signal<{ text: string; id: number } | null>(null);
  const pageVisible = signal(true);

  const conversations = computed(() => sortConversations(Object.values(conversationsById.value)));
  const unreadTotal = computed(() => totalBadge(conversations.value, clock.value));
  const active = computed(() => {
    const id = activeId.value;
    if (id === null) return null;
    return {
      id,
      summary: conversationsById.value[id],
      draft: drafts.value[id],
      timeline: timelines.value[id] ?? emptyTimeline,
    };
  });

  /** The realtime connection once started (see realtime.ts), and whether stop() has run. */
  const live: { rt: RealtimeConnection | null; stopped: boolean } = { rt: null, stopped: false };
  let noticeId = 0;
  let announceId = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!live.stopped) fn();
    }, ms);
    timers.add(timer);
    return timer;
  };
  const cancel = (timer: ReturnType<typeof setTimeout> | undefined) => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(timer);
  };

  function tell(text: string): void {
    notice.value = { text, id: ++noticeId };
  }

  function showNotice(error: unknown, doing: string): void {
    tell(`${doing}: ${errorText(error)}`);
  }

  function announce(text: string): void {
    announcement.value = { text, id: ++announceId };
  }

  function updateTimeline(id: string, change: (t: Timeline) => Timeline): void {
    const current = timelines.value[id];
    const next = change(current ?? emptyTimeline);
    if (next !== current) timelines.value = { ...timelines.value, [id]: next };
  }

  function updateSummary(
    id: string,
    change: (c: ConversationSummary) => ConversationSummary,
  ): void {
    const current = conversationsById.value[id];
    if (current === undefined) return;
    const next = change(current);
    if (next !== current) conversationsById.value = { ...conversationsById.value, [id]: next };
  }

  return {
    deps,
    client,
    now,
    me,
    connection,
    conversationsById,
    conversationsLoaded,
    timelines,
    drafts,
    activeId,
    panel,
    users,
    presence,
    typing,
    reads,
    rooms,
    clock,
    announcement,
    notice,
    pageVisible,
    conversations,
    unreadTotal,
    active,
    live,
    timers,
    later,
    cancel,
    tell,
    showNotice,
    announce,
    updateTimeline,
    updateSummary,
  };
}
