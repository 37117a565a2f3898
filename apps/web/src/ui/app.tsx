// The page: the login screen, or the chat shell (sidebar, conversation, side panel),
// plus the connection banner, passing notices, and the aria-live region that
// announces new messages to screen readers.
import { useEffect, useState } from 'preact/hooks';
import type { AppSession } from '../state/app-session';
import type { ChatStore, ConnectionState } from '../state/chat-store';
import { ConversationPane } from './conversation-pane';
import { NewDirectDialog, RoomBrowser } from './dialogs';
import { LoginScreen } from './login-screen';
import { Icon } from './modal';
import { SidePanel } from './side-panels';
import { Sidebar } from './sidebar';

export function App({ session }: { session: AppSession }) {
  const store = session.chat.value;
  return store === null ? (
    <LoginScreen session={session} />
  ) : (
    <ChatShell store={store} onLogout={() => void session.logout()} />
  );
}

function ChatShell({ store, onLogout }: { store: ChatStore; onLogout: () => void }) {
  const [dialog, setDialog] = useState<'direct' | 'rooms' | null>(null);

  useEffect(() => {
    const update = () => {
      store.pageVisible.value = document.visibilityState === 'visible';
    };
    update();
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, [store]);

  const unread = store.unreadTotal.value.unread;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
  }, [unread]);

  const hasActive = store.activeId.value !== null;
  const panelOpen = store.panel.value.kind !== 'none';
  return (
    <div class={`shell${hasActive ? ' has-active' : ''}${panelOpen ? ' has-panel' : ''}`}>
      <Sidebar
        store={store}
        onNewDirect={() => setDialog('direct')}
        onBrowseRooms={() => setDialog('rooms')}
        onLogout={onLogout}
      />
      <main class="main">
        <ConnectionBanner state={store.connection.value} now={store.clock.value} />
        <ConversationPane store={store} />
      </main>
      <SidePanel store={store} />
      {dialog === 'direct' && <NewDirectDialog store={store} onClose={() => setDialog(null)} />}
      {dialog === 'rooms' && <RoomBrowser store={store} onClose={() => setDialog(null)} />}
      <Notice store={store} />
      <div class="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="announcer">
        {store.announcement.value.text}
      </div>
    </div>
  );
}

function ConnectionBanner({ state }: { state: ConnectionState; now: number }) {
  if (state.status === 'online') return null;
  const text =
    state.status === 'connecting'
      ? 'Connecting…'
      : state.status === 'syncing'
        ? 'Connected. Catching up on missed messages…'
        : `Connection lost. Reconnecting${state.attempt > 1 ? ` (attempt ${state.attempt})` : ''}…`;
  return (
    <div class={`connection-banner ${state.status}`} role="status" data-connection={state.status}>
      <span class="spinner" aria-hidden="true" />
      {text}
    </div>
  );
}

function Notice({ store }: { store: ChatStore }) {
  const notice = store.notice.value;
  useEffect(() => {
    if (notice === null) return;
    const timer = setTimeout(() => {
      if (store.notice.value?.id === notice.id) store.notice.value = null;
    }, 6_000);
    return () => clearTimeout(timer);
  }, [notice?.id]);
  if (notice === null) return null;
  return (
    <div class="toast" role="alert">
      {notice.text}
      <button
        type="button"
        class="icon-button"
        aria-label="Dismiss"
        onClick={() => (store.notice.value = null)}
      >
        <Icon name="close" size={16} />
      </button>
    </div>
  );
}
