// The app's state while logged in, as signals, and the actions the UI calls. Every
// server interaction goes through @parley/client: REST calls for reads and changes,
// the realtime connection for live events and sends (it reconnects, resumes and fills
// gaps by seq on its own; here its lifecycle becomes the banner's state). The pure
// rules (merging, counting, grouping) live in ../model and are unit-tested there.
// The store is built here from its parts in ./chat/, one concern each, over the state
// they share (./chat/shared-state.ts); this file starts and stops it.
import { createChatAttachments } from './chat/attachments';
import { createChatConversations } from './chat/conversations';
import { createConversationView } from './chat/conversation-view';
import { createMessageEvents } from './chat/message-events';
import { createMutesAndBlocks } from './chat/mutes-and-blocks';
import { createRealtime } from './chat/realtime';
import { createChatRooms } from './chat/rooms';
import { createChatSending } from './chat/sending';
import { createChatState, type ChatStoreDeps } from './chat/shared-state';
import { createChatTyping } from './chat/typing';
import { createChatUsers } from './chat/users';

export type { UploadItem } from './chat/attachments';
export type { ChatStoreDeps, ConnectionState, DirectDraft, SidePanel } from './chat/shared-state';

export type ChatStore = ReturnType<typeof createChatStore>;

export function createChatStore(deps: ChatStoreDeps) {
  const state = createChatState(deps);
  const people = createChatUsers(state);
  const list = createChatConversations(state, people);
  const events = createMessageEvents(state, people, list);
  const typist = createChatTyping(state);
  const view = createConversationView(state, people);
  const sending = createChatSending(state, typist, events);
  const realtime = createRealtime(state, { list, view, events, typist });
  const rooms = createChatRooms(state, list, view);
  const files = createChatAttachments(state, typist, events);
  const personal = createMutesAndBlocks(state);
  const { now, clock, live, timers } = state;

  // ---- lifecycle ----

  const clockTimer = setInterval(() => {
    clock.value = now();
  }, 30_000);

  function start(): void {
    realtime.connect();
    void list.refreshConversations();
    void personal.loadBlocks();
  }

  function stop(): void {
    live.stopped = true;
    clearInterval(clockTimer);
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    live.rt?.close();
    live.rt = null;
    files.revokeUrls();
  }

  return {
    me: state.me,
    client: state.client,
    // state
    connection: state.connection,
    conversations: state.conversations,
    conversationsById: state.conversationsById,
    conversationsLoaded: state.conversationsLoaded,
    unreadTotal: state.unreadTotal,
    timelines: state.timelines,
    drafts: state.drafts,
    active: state.active,
    activeId: state.activeId,
    panel: state.panel,
    users: state.users,
    presence: state.presence,
    typing: state.typing,
    reads: state.reads,
    rooms: state.rooms,
    blocked: personal.blocked,
    bans: rooms.bans,
    clock,
    announcement: state.announcement,
    notice: state.notice,
    pageVisible: state.pageVisible,
    loadingOlder: view.loadingOlder,
    uploads: files.uploads,
    // actions
    start,
    stop,
    openConversation: view.openConversation,
    openDirect: view.openDirect,
    loadOlder: view.loadOlder,
    send: sending.send,
    retry: sending.retry,
    discard: sending.discard,
    edit: sending.edit,
    remove: sending.remove,
    toggleReaction: sending.toggleReaction,
    openThread: view.openThread,
    showMembers: view.showMembers,
    closePanel: view.closePanel,
    markRead: view.markRead,
    typingInput: typist.typingInput,
    stopTyping: typist.stopTyping,
    loadRooms: rooms.loadRooms,
    createRoom: rooms.createRoom,
    joinRoom: rooms.joinRoom,
    leaveRoom: rooms.leaveRoom,
    invite: rooms.invite,
    moderate: rooms.moderate,
    loadBans: rooms.loadBans,
    loadMoreMembers: rooms.loadMoreMembers,
    unban: rooms.unban,
    updateRoom: rooms.updateRoom,
    attachFiles: files.attachFiles,
    dropUpload: files.dropUpload,
    sendFiles: files.sendFiles,
    attachmentUrl: files.attachmentUrl,
    download: files.download,
    mute: personal.mute,
    unmute: personal.unmute,
    block: personal.block,
    unblock: personal.unblock,
    refreshConversations: list.refreshConversations,
  };
}
