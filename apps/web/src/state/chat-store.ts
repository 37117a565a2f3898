// The app's state while logged in, as signals, and the actions the UI calls. Every
// server interaction goes through @parley/client: REST calls for reads and changes,
// the realtime connection for live events and sends (it reconnects, resumes and fills
// gaps by seq on its own; here its lifecycle becomes the banner's state). The pure
// rules (merging, counting, grouping) live in ../model and are unit-tested there.
import {
  applyMessageChange,
  changedMessageId,
  type MessageChange,
  type ParleyClient,
  type RealtimeConnection,
  type RealtimeOptions,
} from '@parley/client';
import type {
  Attachment,
  Conversation,
  ConversationMember,
  ConversationSummary,
  Message,
  RoomBan,
  PresenceStatus,
  User,
  UserRef,
} from '@parley/contracts';
import { batch, computed, signal } from '@preact/signals';
import {
  applyMessage,
  applyMessageUpdate,
  applyOwnRead,
  directPartner,
  isMuted,
  muteUntil,
  nameOf,
  sortConversations,
  totalBadge,
  withMute,
} from '../model/conversation-list';
import { mentionsUser } from '../model/mentions';
import { roleSetBy, type ModerationAction } from '../model/room-roles';
import {
  emptyTimeline,
  newestSeq,
  toggledReactions,
  tombstone,
  withHistoryPage,
  withMessages,
  withoutPending,
  withPending,
  type PendingSend,
  type Timeline,
} from '../model/message-timeline';
import { applyRead, type ReadState } from '../model/read-receipts';
import {
  applyTyping,
  clearTypist,
  nextExpiry,
  shouldSendTyping,
  type TypingState,
} from '../model/typing-state';
import { errorText } from './error-text';
import type { UploadTransport } from './upload-transport';

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

/** A file chosen in a composer: uploading, uploaded (ready to send), or failed. */
export interface UploadItem {
  localId: string;
  name: string;
  size: number;
  sent: number;
  state: 'uploading' | 'done' | 'failed';
  error?: string;
  attachment?: Attachment;
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

const PAGE_SIZE = 50;
/** Stop saying "I am typing" after this long without a keystroke. */
const TYPING_IDLE_MS = 3_000;
/** Presence is watched for at most this many users at a time (the frame's bound is 500). */
const PRESENCE_WATCH_MAX = 500;

export type ChatStore = ReturnType<typeof createChatStore>;

export function createChatStore(deps: ChatStoreDeps) {
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
  /** Ids of the users I block (§10.2), loaded at start and kept by block/unblock here. */
  const blocked = signal<ReadonlySet<string>>(new Set());
  /** The bans of rooms I moderate, loaded when their member list is shown. */
  const bans = signal<Readonly<Record<string, readonly RoomBan[]>>>({});
  const clock = signal(now());
  /** The newest text for screen readers (an aria-live region shows it). */
  const announcement = signal<{ text: string; id: number }>({ text: '', id: 0 });
  /** A passing error to show (a toast); cleared by the UI. */
  const notice = signal<{ text: string; id: number } | null>(null);
  const pageVisible = signal(true);
  /** Files chosen in each composer (keyed by conversation id, or thread root id). */
  const uploads = signal<Readonly<Record<string, readonly UploadItem[]>>>({});

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

  let rt: RealtimeConnection | null = null;
  let stopped = false;
  let connectedOnce = false;
  let reconnectAttempt = 0;
  let noticeId = 0;
  let announceId = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) fn();
    }, ms);
    timers.add(timer);
    return timer;
  };
  const cancel = (timer: ReturnType<typeof setTimeout> | undefined) => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(timer);
  };

  function showNotice(error: unknown, doing: string): void {
    notice.value = { text: `${doing}: ${errorText(error)}`, id: ++noticeId };
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

  // ---- users and presence ----

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
    const fresh = [...ids].filter((id) => id !== me!.id && !watched.has(id));
    const room = PRESENCE_WATCH_MAX - watched.size;
    const take = fresh.slice(0, Math.max(0, room));
    if (take.length === 0) return;
    for (const id of take) watched.add(id);
    rt?.presenceSubscribe(take);
  }

  function learnMembers(list: readonly { kind: string; members: readonly UserRef[] }[]): void {
    ensureUsers(list.flatMap((c) => c.members.map((m) => m.id)));
    watchPresence(
      list
        .filter((c) => c.kind === 'direct')
        .map((c) => directPartner(c, me!.id)?.id)
        .filter((id): id is string => id !== undefined),
    );
  }

  // ---- the conversation list ----

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
        if (stopped) return;
        conversationsById.value = Object.fromEntries(all.map((c) => [c.id, c]));
        conversationsLoaded.value = true;
        learnMembers(all);
      } catch (error) {
        if (!stopped) showNotice(error, 'Could not load conversations');
      } finally {
        listRefresh = null;
        if (listRefreshAgain && !stopped) {
          listRefreshAgain = false;
          void refreshConversations();
        }
      }
    })();
    return listRefresh;
  }

  /** A conversation from a REST answer or a frame, kept with what the list knew of it. */
  function upsertConversation(conversation: Conversation): void {
    const current = conversationsById.value[conversation.id];
    const summary: ConversationSummary = {
      ...conversation,
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
    rt?.untrack(id);
    if (activeId.value === id) {
      activeId.value = null;
      panel.value = { kind: 'none' };
    }
  }

  // ---- realtime ----

  function onMessage(message: Message, live: boolean): void {
    const id = message.conversationId;
    batch(() => {
      updateTimeline(id, (t) =>
        t.loaded || t.pending.length > 0 ? withMessages(t, [message]) : t,
      );
      if (conversationsById.value[id] === undefined) {
        void refreshConversations();
      } else {
        updateSummary(id, (c) => applyMessage(c, message, me!.id));
      }
      typing.value = clearTypist(typing.value, id, message.sender.id);
    });
    ensureUsers([message.sender.id]);
    // Only what arrives as it happens is announced, not a catch-up after a reconnect.
    if (live && message.sender.id !== me!.id && message.parentId === undefined) {
      const who = nameOf(message.sender, users.value);
      const summary = conversationsById.value[id];
      const quiet = summary !== undefined && isMuted(summary, now());
      const said = message.text === '' ? 'sent a file' : message.text;
      if (activeId.value === id) announce(`${who}: ${said}`);
      else if (mentionsUser(message, me!.id)) announce(`${who} mentioned you`);
      else if (!quiet) announce(`New message from ${who}`);
    }
  }

  function onMessageUpdated(message: Message): void {
    batch(() => {
      updateTimeline(message.conversationId, (t) => (t.loaded ? withMessages(t, [message]) : t));
      updateSummary(message.conversationId, (c) => applyMessageUpdate(c, message));
    });
  }

  /**
   * A `message_updated` or `reaction` frame carries only what changed: applied to the
   * message as held here (in the loaded timeline, or as a conversation's last message).
   */
  function onMessageChange(conversationId: string, change: MessageChange): void {
    const id = changedMessageId(change);
    const held =
      timelines.value[conversationId]?.messages.find((m) => m.id === id) ??
      conversationsById.value[conversationId]?.lastMessage;
    if (held?.id !== id) return;
    onMessageUpdated(applyMessageChange(held, change));
  }

  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleTypingExpiry(): void {
    cancel(typingTimer);
    const next = nextExpiry(typing.value, now());
    if (next !== undefined) {
      typingTimer = later(next - now() + 20, () => {
        clock.value = now();
        scheduleTypingExpiry();
      });
    }
  }

  /** After a reconnect: counts and edits made while away (resume replays messages only). */
  function refreshAfterReconnect(): void {
    void refreshConversations();
    for (const [id, timeline] of Object.entries(timelines.value)) {
      if (timeline.loaded) void loadLatest(id);
    }
  }

  function connect(): void {
    const connection$ = client.realtime(deps.realtime ?? {});
    rt = connection$;
    connection$.on('connected', () => {
      connection.value = { status: 'syncing' };
    });
    connection$.on('resumed', () => {
      connection.value = { status: 'online' };
      reconnectAttempt = 0;
      if (connectedOnce) refreshAfterReconnect();
      connectedOnce = true;
    });
    connection$.on('disconnected', (info) => {
      if (stopped) return;
      if (info.willReconnect) {
        connection.value = {
          status: 'reconnecting',
          retryAt: now() + (info.delayMs ?? 0),
          attempt: ++reconnectAttempt,
        };
      } else if (info.error !== undefined) {
        deps.onSessionEnded('Your session has ended. Please log in again.');
      }
    });
    connection$.on('message', ({ message, source }) => onMessage(message, source === 'live'));
    connection$.on('message_updated', (frame) =>
      onMessageChange(frame.message.conversationId, frame),
    );
    connection$.on('reaction', (frame) => onMessageChange(frame.conversationId, frame));
    connection$.on('typing', (frame) => {
      if (frame.user.id === me!.id) return;
      typing.value = applyTyping(typing.value, frame, now());
      clock.value = now();
      scheduleTypingExpiry();
    });
    connection$.on('read', (frame) => {
      if (frame.userId === me!.id)
        updateSummary(frame.conversationId, (c) => applyOwnRead(c, frame.seq));
      else reads.value = applyRead(reads.value, frame);
    });
    connection$.on('conversation_updated', ({ conversation }) => {
      if (conversation.members.some((m) => m.id === me!.id)) {
        // A room joined or created: its history is paged on open, not replayed from seq 1.
        if (connection$.lastSeenSeq(conversation.id) === undefined) {
          connection$.track(conversation.id, conversation.lastSeq);
        }
        upsertConversation(conversation);
      } else if (conversationsById.value[conversation.id] !== undefined) {
        // Removed or banned by a moderator (or left on another device): the room goes.
        const wasLeaving = leaving.delete(conversation.id);
        forgetConversation(conversation.id);
        if (!wasLeaving && conversation.kind === 'room') {
          notice.value = {
            text: `You are no longer a member of ${conversation.name ?? 'a room'}.`,
            id: ++noticeId,
          };
        }
      }
      if (rooms.value !== null && conversation.kind === 'room') {
        rooms.value = rooms.value.map((r) => (r.id === conversation.id ? conversation : r));
      }
    });
    connection$.on('presence', (frame) => {
      // `unknown`: the user shares no conversation with us; shown as no presence at all
      const { [frame.userId]: _old, ...others } = presence.value;
      presence.value =
        frame.status === 'unknown' ? others : { ...others, [frame.userId]: frame.status };
    });
    connection$.start().catch(() => {
      // Refused session: `disconnected` (willReconnect false) already ended it; a
      // close() from stop() needs nothing.
    });
  }

  // ---- actions ----

  async function loadLatest(id: string): Promise<void> {
    try {
      const page = await client.history({ conversationId: id, limit: PAGE_SIZE });
      if (stopped) return;
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

  function sendPending(id: string, send: PendingSend): void {
    const connection$ = rt;
    if (connection$ === null) return;
    const draft = drafts.value[id];
    const target =
      conversationsById.value[id] === undefined && draft !== undefined
        ? { to: draft.partner.username }
        : { conversationId: id };
    connection$
      .send({
        ...target,
        text: send.text,
        ref: send.ref,
        ...(send.parentId === undefined ? {} : { parentId: send.parentId }),
      })
      .then(
        (message) => updateTimeline(id, (t) => withMessages(t, [message])),
        (error: unknown) =>
          updateTimeline(id, (t) =>
            t.pending.some((p) => p.ref === send.ref)
              ? withPending(t, { ...send, state: 'failed', error: errorText(error) })
              : t,
          ),
      );
  }

  /** Sends over the socket; shown at once as pending, replaced by the stored message on its ack. */
  function send(id: string, text: string, parentId?: string): void {
    const body = text.trim();
    if (body === '') return;
    const pending: PendingSend = {
      ref: globalThis.crypto.randomUUID(),
      text: body,
      createdAt: new Date(now()).toISOString(),
      state: 'sending',
      ...(parentId === undefined ? {} : { parentId }),
    };
    updateTimeline(id, (t) => withPending(t, pending));
    stopTyping(id);
    sendPending(id, pending);
  }

  /** Sends a failed message again with the same ref: the server stores it at most once. */
  function retry(id: string, ref: string): void {
    const pending = timelines.value[id]?.pending.find((p) => p.ref === ref);
    if (pending === undefined) return;
    const again: PendingSend = {
      ref,
      text: pending.text,
      createdAt: pending.createdAt,
      state: 'sending',
    };
    if (pending.parentId !== undefined) again.parentId = pending.parentId;
    updateTimeline(id, (t) => withPending(t, again));
    sendPending(id, again);
  }

  function discard(id: string, ref: string): void {
    updateTimeline(id, (t) => withoutPending(t, ref));
  }

  async function edit(message: Message, text: string): Promise<boolean> {
    const body = text.trim();
    if (body === '' || body === message.text) return true;
    try {
      onMessageUpdated(await client.editMessage(message.id, body));
      return true;
    } catch (error) {
      showNotice(error, 'Could not edit the message');
      return false;
    }
  }

  async function remove(message: Message): Promise<void> {
    onMessageUpdated(tombstone(message, new Date(now()).toISOString()));
    try {
      await client.deleteMessage(message.id);
    } catch (error) {
      onMessageUpdated(message);
      showNotice(error, 'Could not delete the message');
    }
  }

  async function toggleReaction(message: Message, emoji: string): Promise<void> {
    const mine = message.reactions[emoji]?.includes(me!.id) ?? false;
    onMessageUpdated({ ...message, reactions: toggledReactions(message.reactions, emoji, me!.id) });
    try {
      onMessageUpdated(
        mine ? await client.unreact(message.id, emoji) : await client.react(message.id, emoji),
      );
    } catch (error) {
      onMessageUpdated(message);
      showNotice(error, 'Could not change the reaction');
    }
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

  let typingSentAt: { id: string; at: number } | undefined;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;
  /** A keystroke in the composer. */
  function typingInput(id: string): void {
    if (conversationsById.value[id] === undefined) return;
    const at = now();
    if (typingSentAt?.id !== id || shouldSendTyping(typingSentAt.at, at)) {
      if (rt?.typing(id, true)) typingSentAt = { id, at };
    }
    cancel(typingIdle);
    typingIdle = later(TYPING_IDLE_MS, () => stopTyping(id));
  }

  function stopTyping(id: string): void {
    cancel(typingIdle);
    typingIdle = undefined;
    if (typingSentAt?.id === id) {
      rt?.typing(id, false);
      typingSentAt = undefined;
    }
  }

  async function loadRooms(): Promise<void> {
    try {
      rooms.value = await client.listRooms();
    } catch (error) {
      showNotice(error, 'Could not list rooms');
    }
  }

  async function createRoom(name: string, isPrivate: boolean): Promise<void> {
    const conversation = await client.createRoom({ name, isPrivate });
    rt?.track(conversation.id, conversation.lastSeq);
    upsertConversation(conversation);
    updateTimeline(conversation.id, (t) =>
      withHistoryPage(t, { messages: [], hasMore: false }, 'latest'),
    );
    openConversation(conversation.id);
  }

  async function joinRoom(id: string): Promise<void> {
    try {
      const conversation = await client.joinRoom(id);
      if (rt?.lastSeenSeq(id) === undefined) rt?.track(id, conversation.lastSeq);
      upsertConversation(conversation);
      openConversation(id);
    } catch (error) {
      showNotice(error, 'Could not join the room');
    }
  }

  async function leaveRoom(id: string): Promise<void> {
    leaving.add(id);
    try {
      await client.leaveRoom(id);
      forgetConversation(id);
    } catch (error) {
      showNotice(error, 'Could not leave the room');
    } finally {
      // The event may come before or after the answer; a later removal must be told.
      later(5_000, () => leaving.delete(id));
    }
  }

  // ---- attachments (§11): upload when chosen, send the ids with the message ----

  function updateUploads(key: string, change: (list: readonly UploadItem[]) => UploadItem[]): void {
    uploads.value = { ...uploads.value, [key]: change(uploads.value[key] ?? []) };
  }

  function patchUpload(key: string, localId: string, patch: Partial<UploadItem>): void {
    updateUploads(key, (list) => list.map((u) => (u.localId === localId ? { ...u, ...patch } : u)));
  }

  /** Starts uploading each file at once; the composer shows their progress. */
  function attachFiles(key: string, files: readonly File[]): void {
    for (const file of files) {
      const localId = globalThis.crypto.randomUUID();
      updateUploads(key, (list) => [
        ...list,
        { localId, name: file.name, size: file.size, sent: 0, state: 'uploading' },
      ]);
      deps.uploads?.watch(file, ({ sent }) => patchUpload(key, localId, { sent }));
      client
        .uploadAttachment(file, {
          name: file.name || 'file',
          contentType: file.type || 'application/octet-stream',
        })
        .then(
          (attachment) => patchUpload(key, localId, { state: 'done', sent: file.size, attachment }),
          (error: unknown) =>
            patchUpload(key, localId, { state: 'failed', error: errorText(error) }),
        );
    }
  }

  function dropUpload(key: string, localId: string): void {
    updateUploads(key, (list) => list.filter((u) => u.localId !== localId));
  }

  /**
   * Sends the uploaded files of a composer with its text, over REST (`attachmentIds`
   * are a `POST /chat/send` field); the files stay listed when the send fails.
   */
  async function sendFiles(
    id: string,
    key: string,
    text: string,
    parentId?: string,
  ): Promise<boolean> {
    const ready = (uploads.value[key] ?? []).filter((u) => u.attachment !== undefined);
    if (ready.length === 0) return false;
    const draft = drafts.value[id];
    const target =
      conversationsById.value[id] === undefined && draft !== undefined
        ? { to: draft.partner.username }
        : { conversationId: id };
    const body = text.trim();
    try {
      const message = await client.send({
        ...target,
        ...(body === '' ? {} : { text: body }),
        attachmentIds: ready.map((u) => u.attachment!.id),
        clientMsgId: globalThis.crypto.randomUUID(),
        ...(parentId === undefined ? {} : { parentId }),
      });
      updateUploads(key, (list) => list.filter((u) => !ready.includes(u)));
      stopTyping(id);
      onMessage(message, false);
      return true;
    } catch (error) {
      showNotice(error, 'Could not send the files');
      return false;
    }
  }

  /** An attachment's bytes as a blob: URL (fetched once with the token, kept while logged in). */
  const blobUrls = new Map<string, Promise<string>>();
  function attachmentUrl(attachmentId: string): Promise<string> {
    let url = blobUrls.get(attachmentId);
    if (url === undefined) {
      url = client
        .downloadAttachment(attachmentId)
        .then((response) => response.blob())
        .then((blob) => URL.createObjectURL(blob));
      url.catch(() => blobUrls.delete(attachmentId)); // tried again next time
      blobUrls.set(attachmentId, url);
    }
    return url;
  }

  /** Saves a file: fetched with the token, then handed to the browser as a download. */
  async function download(attachment: { id: string; name: string }): Promise<void> {
    try {
      const link = document.createElement('a');
      link.href = await attachmentUrl(attachment.id);
      link.download = attachment.name;
      link.click();
    } catch (error) {
      showNotice(error, `Could not download ${attachment.name}`);
    }
  }

  // ---- room moderation (§10.4): the answer is the room as it now is ----

  /** A role change, removal or ban of a member; the room's new state is applied at once. */
  async function moderate(
    roomId: string,
    member: ConversationMember,
    action: ModerationAction,
  ): Promise<void> {
    const role = roleSetBy(action);
    try {
      const room =
        role !== undefined
          ? await client.setRoomRole(roomId, member.username, role)
          : action === 'remove'
            ? await client.removeRoomMember(roomId, member.username)
            : await client.ban(roomId, member.username);
      upsertConversation(room);
      if (action === 'ban') void loadBans(roomId);
    } catch (error) {
      showNotice(error, `Could not ${action.replace('-', ' ')} @${member.username}`);
    }
  }

  /** A room's bans, newest first (owners and admins only: others are refused, and see none). */
  async function loadBans(roomId: string): Promise<void> {
    try {
      const list = await client.roomBans(roomId);
      bans.value = { ...bans.value, [roomId]: list };
    } catch {
      // not a moderator (any more): the list stays as it was
    }
  }

  async function unban(roomId: string, user: UserRef): Promise<void> {
    try {
      await client.unban(roomId, user.username);
      bans.value = {
        ...bans.value,
        [roomId]: (bans.value[roomId] ?? []).filter((b) => b.user.id !== user.id),
      };
    } catch (error) {
      showNotice(error, `Could not lift the ban on @${user.username}`);
    }
  }

  /** Name, description and privacy (owners and admins); throws for the form to show. */
  async function updateRoom(
    roomId: string,
    change: { name?: string; description?: string; isPrivate?: boolean },
  ): Promise<void> {
    upsertConversation(await client.updateRoom(roomId, change));
  }

  // ---- muting and blocking (§10.2, §10.3): mine alone, nobody else is told ----

  /** Mutes for `ms` from now, or until unmuted (null). */
  async function mute(id: string, ms: number | null): Promise<void> {
    const until = muteUntil(ms, now());
    try {
      await client.mute(id, until);
      updateSummary(id, (c) => withMute(c, until === undefined ? {} : { until }));
    } catch (error) {
      showNotice(error, 'Could not mute the conversation');
    }
  }

  async function unmute(id: string): Promise<void> {
    try {
      await client.unmute(id);
      updateSummary(id, (c) => withMute(c, null));
    } catch (error) {
      showNotice(error, 'Could not unmute the conversation');
    }
  }

  async function loadBlocks(): Promise<void> {
    try {
      const list = await client.blocks();
      if (!stopped) blocked.value = new Set(list.map((u) => u.id));
    } catch {
      // nothing shows as blocked; blocking and unblocking still work
    }
  }

  async function block(user: UserRef): Promise<void> {
    try {
      await client.block(user.username);
      blocked.value = new Set([...blocked.value, user.id]);
    } catch (error) {
      showNotice(error, `Could not block @${user.username}`);
    }
  }

  async function unblock(user: UserRef): Promise<void> {
    try {
      await client.unblock(user.username);
      const next = new Set(blocked.value);
      next.delete(user.id);
      blocked.value = next;
    } catch (error) {
      showNotice(error, `Could not unblock @${user.username}`);
    }
  }

  async function invite(roomId: string, username: string): Promise<void> {
    upsertConversation(await client.invite(roomId, username.trim().toLowerCase()));
  }

  // ---- lifecycle ----

  const clockTimer = setInterval(() => {
    clock.value = now();
  }, 30_000);

  function start(): void {
    connect();
    void refreshConversations();
    void loadBlocks();
  }

  function stop(): void {
    stopped = true;
    clearInterval(clockTimer);
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    rt?.close();
    rt = null;
    for (const url of blobUrls.values())
      url.then(
        (u) => URL.revokeObjectURL(u),
        () => undefined,
      );
    blobUrls.clear();
  }

  return {
    me,
    client,
    // state
    connection,
    conversations,
    conversationsById,
    conversationsLoaded,
    unreadTotal,
    timelines,
    drafts,
    active,
    activeId,
    panel,
    users,
    presence,
    typing,
    reads,
    rooms,
    blocked,
    bans,
    clock,
    announcement,
    notice,
    pageVisible,
    loadingOlder,
    uploads,
    // actions
    start,
    stop,
    openConversation,
    openDirect,
    loadOlder,
    send,
    retry,
    discard,
    edit,
    remove,
    toggleReaction,
    openThread,
    showMembers,
    closePanel,
    markRead,
    typingInput,
    stopTyping,
    loadRooms,
    createRoom,
    joinRoom,
    leaveRoom,
    invite,
    moderate,
    loadBans,
    unban,
    updateRoom,
    attachFiles,
    dropUpload,
    sendFiles,
    attachmentUrl,
    download,
    mute,
    unmute,
    block,
    unblock,
    refreshConversations,
  };
}
