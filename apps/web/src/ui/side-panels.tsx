// The right column: a thread (its root, replies and a reply box) or the member list
// of the open conversation: presence and roles, each member's actions (role changes,
// removal and ban for owners and admins, block for anyone), the bans with a way to lift
// them, room settings, invite, leave.
import type { ConversationMember } from '@parley/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { nameOf } from '../model/conversation-list';
import { threadOf } from '../model/message-timeline';
import {
  isModerator,
  moderationActions,
  roleIn,
  roleRank,
  type ModerationAction,
} from '../model/room-roles';
import type { ChatStore } from '../state/chat-store';
import { errorText } from '../state/error-text';
import { Avatar, PresenceLabel } from './avatar';
import { Composer } from './composer';
import { RoomSettingsDialog } from './dialogs';
import { blockItem, Menu, type MenuItem } from './menu';
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
  'make-owner': 'Make owner',
  'make-admin': 'Make admin',
  'make-member': 'Make member',
  remove: 'Remove from room',
  ban: 'Ban from room',
};

/** What a member's menu offers: moderation first (my role decides), then block/unblock. */
function memberMenu(
  store: ChatStore,
  roomId: string,
  roomName: string,
  member: ConversationMember,
  myRole: ConversationMember['role'],
): MenuItem[] {
  const items: MenuItem[] = moderationActions(myRole, member.role).map((action) => ({
    label: ACTION_LABELS[action],
    danger: action === 'remove' || action === 'ban',
    onSelect: () => {
      const ask =
        action === 'remove'
          ? `Remove @${member.username} from ${roomName}?`
          : action === 'ban'
            ? `Ban @${member.username} from ${roomName}? They cannot come back until the ban is lifted.`
            : action === 'make-owner'
              ? `Make @${member.username} an owner of ${roomName}? Owners can do everything you can.`
              : null;
      if (ask === null || window.confirm(ask)) void store.moderate(roomId, member, action);
    },
  }));
  if (member.id !== store.me.id) items.push(blockItem(store, member));
  return items;
}

function MembersPanel({ store, conversationId }: { store: ChatStore; conversationId: string }) {
  const summary = store.conversationsById.value[conversationId];
  const [invitee, setInvitee] = useState('');
  const [inviteError, setInviteError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const moderates = isModerator(roleIn(summary, store.me.id));
  useEffect(() => {
    if (moderates) void store.loadBans(conversationId);
  }, [conversationId, moderates]);
  if (summary === undefined) return null;
  const isRoom = summary.kind === 'room';
  const roomName = summary.name ?? 'this room';
  const presence = store.presence.value;
  const byStatus = (m: ConversationMember) =>
    m.id === store.me.id || presence[m.id] === 'online' ? 0 : 1;
  const members = [...summary.members].sort(
    (a, b) =>
      roleRank(a.role) - roleRank(b.role) ||
      byStatus(a) - byStatus(b) ||
      nameOf(a, store.users.value).localeCompare(nameOf(b, store.users.value)),
  );
  const myRole = roleIn(summary, store.me.id);
  const moderator = isRoom && isModerator(myRole);
  const banned = moderator ? (store.bans.value[conversationId] ?? []) : [];

  return (
    <aside
      class="side-panel members-panel"
      aria-label="Members"
      onKeyDown={(e) => {
        // Escape in the settings dialog closes the dialog, not the panel too
        if (e.key === 'Escape' && (e.target as Element).closest('dialog') === null)
          store.closePanel();
      }}
    >
      <PanelHeader
        title="Members"
        subtitle={`${summary.memberCount} in ${isRoom ? summary.name : 'this conversation'}`}
        onClose={() => store.closePanel()}
      />
      <div class="panel-scroller">
        {isRoom && (summary.description !== undefined || isModerator(myRole)) && (
          <div class="room-about">
            {summary.description !== undefined && (
              <p class="room-description">{summary.description}</p>
            )}
            {isModerator(myRole) && (
              <button type="button" class="button small" onClick={() => setEditing(true)}>
                <Icon name="settings" size={16} /> Room settings
              </button>
            )}
          </div>
        )}
        {editing && (
          <RoomSettingsDialog store={store} room={summary} onClose={() => setEditing(false)} />
        )}
        <ul class="member-list">
          {members.map((m) => {
            const status = m.id === store.me.id ? 'online' : (presence[m.id] ?? 'offline');
            const role = m.role;
            const actions = isRoom ? memberMenu(store, conversationId, roomName, m, myRole) : [];
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
                {store.blocked.value.has(m.id) && <span class="role-badge blocked">blocked</span>}
                {actions.length > 0 && (
                  <Menu label={`Actions for @${m.username}`} items={actions} />
                )}
              </li>
            );
          })}
        </ul>
        {summary.membersComplete === false && members.length < summary.memberCount && (
          <button
            type="button"
            class="button small"
            onClick={() => void store.loadMoreMembers(conversationId)}
          >
            Show more members ({members.length} of {summary.memberCount})
          </button>
        )}
        {banned.length > 0 && (
          <section class="ban-list" aria-labelledby="bans-title">
            <h3 id="bans-title" class="section-title">
              Banned
            </h3>
            <ul class="member-list">
              {banned.map((b) => (
                <li key={b.user.id} class="member" data-banned-user-id={b.user.id}>
                  <span class="member-name">
                    @{b.user.username}
                    <span class="dim member-username">
                      by @{b.bannedBy.username}
                      {b.reason === undefined ? '' : `: ${b.reason}`}
                    </span>
                  </span>
                  <button
                    type="button"
                    class="button small"
                    aria-label={`Lift the ban on @${b.user.username}`}
                    onClick={() => void store.unban(conversationId, b.user)}
                  >
                    Lift ban
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
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
