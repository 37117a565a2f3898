// The left column: who I am, the conversation list (filterable, with unread and
// mention badges, presence dots and muted marks), and the ways to start a conversation.
import type { ConversationSummary } from '@parley/contracts';
import { useState } from 'preact/hooks';
import {
  badgeOf,
  conversationTitle,
  directPartner,
  filterConversations,
  isMuted,
  lastActivity,
  muteLabel,
  previewOf,
} from '../model/conversation-list';
import { shortAge } from '../model/time-format';
import type { ChatStore } from '../state/chat-store';
import { Avatar, PresenceLabel } from './avatar';
import { Icon } from './modal';

export function Sidebar(props: {
  store: ChatStore;
  onNewDirect: () => void;
  onBrowseRooms: () => void;
  onLogout: () => void;
}) {
  const { store } = props;
  const [query, setQuery] = useState('');
  const me = store.me;
  const list = filterConversations(store.conversations.value, query, me.id, store.users.value);
  const total = store.unreadTotal.value;

  return (
    <nav class="sidebar" aria-label="Conversations">
      <header class="sidebar-header">
        <div class="me">
          <Avatar
            id={me.id}
            name={me.displayName}
            presence={store.connection.value.status === 'online' ? 'online' : 'offline'}
          />
          <div class="me-text">
            <strong>{me.displayName}</strong>
            <span class="dim">@{me.username}</span>
          </div>
        </div>
        <button
          type="button"
          class="icon-button"
          aria-label="Log out"
          title="Log out"
          onClick={props.onLogout}
        >
          <Icon name="logout" />
        </button>
      </header>
      <div class="sidebar-actions">
        <button type="button" class="button primary" onClick={props.onNewDirect}>
          <Icon name="plus" size={18} /> New message
        </button>
        <button type="button" class="button" onClick={props.onBrowseRooms}>
          <Icon name="hash" size={18} /> Rooms
        </button>
      </div>
      <label class="search">
        <Icon name="search" size={16} />
        <span class="visually-hidden">Filter conversations</span>
        <input
          type="search"
          placeholder="Filter conversations"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
      </label>
      <h2 class="visually-hidden">
        Conversations{total.unread > 0 ? `, ${total.unread} unread` : ''}
      </h2>
      {!store.conversationsLoaded.value ? (
        <p class="sidebar-empty">Loading…</p>
      ) : list.length === 0 ? (
        <p class="sidebar-empty">
          {query
            ? 'No conversation matches.'
            : 'No conversations yet. Start one with New message, or join a room.'}
        </p>
      ) : (
        <ul class="conversation-list">
          {list.map((c) => (
            <ConversationRow
              key={c.id}
              store={store}
              conversation={c}
              active={store.activeId.value === c.id}
            />
          ))}
        </ul>
      )}
    </nav>
  );
}

function ConversationRow(props: {
  store: ChatStore;
  conversation: ConversationSummary;
  active: boolean;
}) {
  const { store, conversation: c } = props;
  const me = store.me;
  const title = conversationTitle(c, me.id, store.users.value);
  const partner = c.kind === 'direct' ? directPartner(c, me.id) : undefined;
  const status = partner === undefined ? undefined : store.presence.value[partner.id];
  const badge = badgeOf(c);
  const typingHere = Object.values(store.typing.value[c.id] ?? {}).some(
    (t) => t.until > store.clock.value,
  );
  const preview = typingHere ? 'typing…' : previewOf(c, me.id, store.users.value);
  const muted = muteLabel(c, store.clock.value);
  return (
    <li>
      <button
        type="button"
        class={`conversation-row${props.active ? ' active' : ''}${badge.unread > 0 ? ' unread' : ''}${muted !== null ? ' muted' : ''}`}
        aria-current={props.active ? 'page' : undefined}
        onClick={() => store.openConversation(c.id)}
        data-conversation-id={c.id}
      >
        <Avatar
          id={partner?.id ?? c.id}
          name={title}
          room={c.kind === 'room'}
          presence={partner === undefined ? undefined : (status ?? 'offline')}
        />
        <span class="row-text">
          <span class="row-top">
            <span class="row-title">
              {title}
              <PresenceLabel status={status} />
            </span>
            <time class="row-time" dateTime={lastActivity(c)}>
              {shortAge(lastActivity(c), new Date(store.clock.value))}
            </time>
          </span>
          <span class="row-bottom">
            <span class={`row-preview${typingHere ? ' typing' : ''}`}>{preview}</span>
            {muted !== null && (
              <span class="muted-tag" title={muted} data-muted={c.mutedUntil ?? 'indefinitely'}>
                <Icon name="bell-off" size={14} />
                <span class="visually-hidden">{muted}</span>
                {c.mutedUntil !== undefined && (
                  <span class="muted-until" aria-hidden="true">
                    {muted.replace(/^Muted /, '')}
                  </span>
                )}
              </span>
            )}
            {badge.mentions > 0 && (
              <span
                class="badge mention"
                aria-label={`${badge.mentions} mention${badge.mentions === 1 ? '' : 's'}`}
              >
                @{badge.mentions}
              </span>
            )}
            {badge.unread > 0 && (
              <span
                class={`badge${isMuted(c, store.clock.value) ? ' quiet' : ''}`}
                aria-label={`${badge.unread} unread`}
              >
                {badge.unread > 99 ? '99+' : badge.unread}
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}
