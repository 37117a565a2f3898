// The right column: a thread (its root, replies and a reply box) or the member list
// of the open conversation (presence, roles once the server has them, invite, leave).
import type { UserRef } from '@parley/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { nameOf } from '../model/conversation-list';
import { moderationActions, roleOf, type ModerationAction } from '../model/extensions';
import { threadOf } from '../model/message-timeline';
import { capabilitiesOf } from '../state/capabilities';
import type { ChatStore } from '../state/chat-store';
import { errorText } from '../state/error-text';
import { Avatar, PresenceLabel } from './avatar';
import { Composer } from './composer';
import { MessageItem, PendingItem } from './message-item';
import { Icon } from './modal';

export function SidePanel({ store }: { store: ChatStore }) {
  const panel = store.panel.value;
  const active = store.active.value;
  if (panel.kind === 'none' || active === null) return null;
  return panel.kind === 'thread' ? (
    <ThreadPanel store={store} conversationId={active.id} rootId={panel.rootId} />
  ) : (
    <MembersPanel store={store} conversationId={active.id} />
  );
}

function PanelHeader(props: { title: string; subtitle?: string | undefined; onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  return (
    <header class="panel-header">
      <div>
        <h2>{props.title}</h2>
        {props.subtitle && <p class="dim">{props.subtitle}</p>}
      </div>
      <button
        ref={close}
        type="button"
        class="icon-button"
        aria-label={`Close ${props.title.toLowerCase()}`}
        onClick={props.onClose}
      >
        <Icon name="close" />
      </button>
    </header>
  );
}

function ThreadPanel({
  store,
  conversationId,
  rootId,
}: {
  store: ChatStore;
  conversationId: string;
  rootId: string;
}) {
  const timeline = store.timelines.value[conversationId];
  const { root, replies } = threadOf(timeline?.messages ?? [], rootId);
  const pending = (timeline?.pending ?? []).filter((p) => p.parentId === rootId);
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [replies.length, pending.length]);
  return (
    <aside
      class="side-panel thread-panel"
      aria-label="Thread"
      onKeyDown={(e) => e.key === 'Escape' && store.closePanel()}
    >
      <PanelHeader
        title="Thread"
        subtitle={
          root === undefined ? undefined : `Started by ${nameOf(root.sender, store.users.value)}`
        }
        onClose={() => store.closePanel()}
      />
      <div class="panel-scroller">
        <ol class="message-list">
          {root !== undefined && <MessageItem store={store} message={root} showHeader inThread />}
          <li class="thread-divider" role="separator">
            <span>
              {replies.length} {replies.length === 1 ? 'reply' : 'replies'}
            </span>
          </li>
          {replies.map((m, i) => (
            <MessageItem
              key={m.id}
              store={store}
              message={m}
              showHeader={i === 0 || replies[i - 1]?.sender.id !== m.sender.id}
              inThread
            />
          ))}
          {pending.map((p, i) => (
            <PendingItem
              key={p.ref}
              store={store}
              conversationId={conversationId}
              pending={p}
              showHeader={i === 0}
            />
          ))}
        </ol>
        <div ref={end} />
      </div>
      <Composer
        store={store}
        conversationId={conversationId}
        parentId={rootId}
        placeholder="Reply in thread"
        autoFocus
      />
    </aside>
  );
}

const ACTION_LABELS: Record<ModerationAction, string> = {
  'make-admin': 'Make admin',
  'make-member': 'Make member',
  remove: 'Remove',
  ban: 'Ban',
};

function MembersPanel({ store, conversationId }: { store: ChatStore; conversationId: string }) {
  const summary = store.conversationsById.value[conversationId];
  const [invitee, setInvitee] = useState('');
  const [inviteError, setInviteError] = useState<string | null>(null);
  if (summary === undefined) return null;
  const isRoom = summary.kind === 'room';
  const presence = store.presence.value;
  const byStatus = (m: UserRef) => (m.id === store.me.id || presence[m.id] === 'online' ? 0 : 1);
  const members = [...summary.members].sort(
    (a, b) =>
      byStatus(a) - byStatus(b) ||
      nameOf(a, store.users.value).localeCompare(nameOf(b, store.users.value)),
  );
  const myRole = roleOf(summary.members.find((m) => m.id === store.me.id) ?? store.me);
  const moderation = capabilitiesOf(store.client).moderation;

  return (
    <aside
      class="side-panel members-panel"
      aria-label="Members"
      onKeyDown={(e) => e.key === 'Escape' && store.closePanel()}
    >
      <PanelHeader
        title="Members"
        subtitle={`${members.length} in ${isRoom ? summary.name : 'this conversation'}`}
        onClose={() => store.closePanel()}
      />
      <div class="panel-scroller">
        <ul class="member-list">
          {members.map((m) => {
            const status = m.id === store.me.id ? 'online' : (presence[m.id] ?? 'offline');
            const role = roleOf(m);
            const actions = moderation ? moderationActions(myRole, role) : [];
            return (
              <li key={m.id} class="member" data-user-id={m.id}>
                <Avatar id={m.id} name={nameOf(m, store.users.value)} size="sm" presence={status} />
                <span class="member-name">
                  {nameOf(m, store.users.value)}
                  {m.id === store.me.id && <span class="dim"> (you)</span>}
                  <PresenceLabel status={status} />
                  <span class="dim member-username">@{m.username}</span>
                </span>
                {role !== undefined && role !== 'member' && (
                  <span class={`role-badge ${role}`}>{role}</span>
                )}
                {actions.length > 0 && (
                  <span class="member-actions">
                    {actions.map((a) => (
                      <button key={a} type="button" class="button small">
                        {ACTION_LABELS[a]}
                      </button>
                    ))}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
        {isRoom && (
          <form
            class="invite-form"
            onSubmit={async (e) => {
              e.preventDefault();
              setInviteError(null);
              try {
                await store.invite(conversationId, invitee);
                setInvitee('');
              } catch (error) {
                setInviteError(errorText(error));
              }
            }}
          >
            <label class="field">
              <span>Invite by username</span>
              <span class="inline-field">
                <input
                  value={invitee}
                  required
                  autoCapitalize="none"
                  spellcheck={false}
                  onInput={(e) => setInvitee(e.currentTarget.value)}
                />
                <button type="submit" class="button">
                  Invite
                </button>
              </span>
            </label>
            {inviteError && (
              <p class="form-error" role="alert">
                {inviteError}
              </p>
            )}
          </form>
        )}
        {isRoom && (
          <button
            type="button"
            class="button danger wide"
            onClick={() => {
              if (window.confirm(`Leave ${summary.name ?? 'this room'}?`))
                void store.leaveRoom(conversationId);
            }}
          >
            <Icon name="leave" size={18} /> Leave room
          </button>
        )}
      </div>
    </aside>
  );
}
