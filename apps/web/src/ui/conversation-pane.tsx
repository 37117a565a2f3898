// The middle column: the open conversation's header, messages, typing line and composer.
import { conversationTitle, directPartner, nameOf } from '../model/conversation-list';
import { typingLabel, typists } from '../model/typing-state';
import type { ChatStore } from '../state/chat-store';
import { Avatar } from './avatar';
import { Composer } from './composer';
import { MessageList } from './message-list';
import { Icon } from './modal';

export function ConversationPane({ store }: { store: ChatStore }) {
  const active = store.active.value;
  if (active === null) {
    return (
      <section class="conversation empty-state" aria-label="No conversation open">
        <div>
          <span class="brand-mark large" aria-hidden="true" />
          <h2>Pick a conversation</h2>
          <p class="dim">Or start one with New message, or find a room to join.</p>
        </div>
      </section>
    );
  }
  const { id, summary, draft } = active;
  const me = store.me;
  const members =
    summary?.members ??
    (draft
      ? [
          { id: me.id, username: me.username },
          { id: draft.partner.id, username: draft.partner.username },
        ]
      : []);
  const kind = summary?.kind ?? 'direct';
  const title = conversationTitle({ kind, name: summary?.name, members }, me.id, store.users.value);
  const partner = kind === 'direct' ? directPartner({ members }, me.id) : undefined;
  const status = partner === undefined ? undefined : store.presence.value[partner.id];
  const subtitle =
    kind === 'room'
      ? `${members.length} member${members.length === 1 ? '' : 's'}${summary?.isPrivate ? ' · private' : ''}`
      : partner === undefined
        ? ''
        : `@${partner.username}${status === undefined ? '' : ` · ${status}`}`;
  const typingNames = typists(store.typing.value, id, store.clock.value).map((u) =>
    nameOf(u, store.users.value),
  );
  const membersOpen = store.panel.value.kind === 'members';

  return (
    <section class="conversation" aria-labelledby="conversation-title">
      <header class="conversation-header">
        <button
          type="button"
          class="icon-button back-button"
          aria-label="Back to conversations"
          onClick={() => store.openConversation(null)}
        >
          <Icon name="back" />
        </button>
        <Avatar
          id={partner?.id ?? id}
          name={title}
          room={kind === 'room'}
          presence={partner === undefined ? undefined : (status ?? 'offline')}
        />
        <div class="conversation-heading">
          <h1 id="conversation-title">{kind === 'room' ? title : title}</h1>
          <p class="dim">{subtitle}</p>
        </div>
        {summary !== undefined && (
          <button
            type="button"
            class={`icon-button${membersOpen ? ' pressed' : ''}`}
            aria-label="Members"
            aria-pressed={membersOpen}
            title="Members"
            onClick={() => store.showMembers(!membersOpen)}
          >
            <Icon name="members" />
          </button>
        )}
      </header>
      <MessageList key={id} store={store} conversationId={id} />
      <p class="typing-line" aria-live="polite">
        {typingNames.length > 0 && (
          <>
            <span class="typing-dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            {typingLabel(typingNames)}
          </>
        )}
      </p>
      <Composer
        store={store}
        conversationId={id}
        placeholder={kind === 'room' ? `Message #${title}` : `Message ${title}`}
        autoFocus
      />
    </section>
  );
}
