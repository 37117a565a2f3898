// The middle column: the open conversation's header (with its options: mute, block),
// messages, typing line and composer.
import type { ConversationSummary, UserRef } from '@parley/contracts';
import {
  conversationTitle,
  directPartner,
  MUTE_CHOICES,
  muteLabel,
  nameOf,
} from '../model/conversation-list';
import { typingLabel, typists } from '../model/typing-state';
import type { ChatStore } from '../state/chat-store';
import { Avatar } from './avatar';
import { Composer } from './composer';
import { MessageList } from './message-list';
import { blockItem, Menu, type MenuItem } from './menu';
import { Icon } from './modal';

/** The header's options: mute choices or unmute, and for a direct conversation block/unblock. */
function conversationOptions(
  store: ChatStore,
  summary: ConversationSummary | undefined,
  partner: UserRef | undefined,
): (MenuItem | { heading: string })[] {
  const items: (MenuItem | { heading: string })[] = [];
  if (summary !== undefined) {
    const muted = muteLabel(summary, store.clock.value);
    if (muted !== null) {
      items.push(
        { heading: muted },
        { label: 'Unmute', onSelect: () => void store.unmute(summary.id) },
      );
    } else {
      items.push({ heading: 'Mute notifications' });
      for (const choice of MUTE_CHOICES) {
        items.push({ label: choice.label, onSelect: () => void store.mute(summary.id, choice.ms) });
      }
    }
  }
  if (partner !== undefined && partner.id !== store.me.id) items.push(blockItem(store, partner));
  return items;
}

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
  const memberCount = summary?.memberCount ?? members.length;
  const subtitle =
    kind === 'room'
      ? `${memberCount} member${memberCount === 1 ? '' : 's'}${summary?.isPrivate ? ' · private' : ''}`
      : partner === undefined
        ? ''
        : `@${partner.username}${status === undefined ? '' : ` · ${status}`}`;
  const typingNames = typists(store.typing.value, id, store.clock.value).map((u) =>
    nameOf(u, store.users.value),
  );
  const membersOpen = store.panel.value.kind === 'members';
  const muted = summary === undefined ? null : muteLabel(summary, store.clock.value);
  const options = conversationOptions(store, summary, partner);
  const blockedPartner =
    partner !== undefined && partner.id !== me.id && store.blocked.value.has(partner.id)
      ? partner
      : undefined;

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
          <p class="dim">
            {subtitle}
            {muted !== null && (
              <span class="header-muted">
                {' · '}
                {muted}
              </span>
            )}
          </p>
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
        {options.length > 0 && <Menu label="Conversation options" items={options} />}
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
      {blockedPartner !== undefined && (
        <p class="blocked-bar" role="note">
          You blocked @{blockedPartner.username}: they cannot message you directly.{' '}
          <button
            type="button"
            class="link-button"
            onClick={() => void store.unblock(blockedPartner)}
          >
            Unblock
          </button>
        </p>
      )}
      <Composer
        store={store}
        conversationId={id}
        placeholder={kind === 'room' ? `Message #${title}` : `Message ${title}`}
        autoFocus
      />
    </section>
  );
}
