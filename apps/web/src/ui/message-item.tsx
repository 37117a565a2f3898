// One message: its text (links, server-listed mentions), edited/deleted state,
// reactions, thread summary, and the actions on it (react, reply, edit, delete).
// Actions sit in a toolbar that shows on hover, on focus within, and on tap.
import type { Message } from '@parley/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { nameOf } from '../model/conversation-list';
import {
  attachmentsOf,
  fileSize,
  inlineBox,
  isInlineImage,
  type AttachmentInfo,
} from '../model/attachments';
import { mentionsOf, mentionsUser } from '../model/mentions';
import { canDelete } from '../model/room-roles';
import type { PendingSend } from '../model/message-timeline';
import { textRuns } from '../model/rich-text';
import { clockTime, fullTimestamp } from '../model/time-format';
import type { ChatStore } from '../state/chat-store';
import { Avatar } from './avatar';
import { Icon } from './modal';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;

export function MessageText({ message, store }: { message: Message; store: ChatStore }) {
  const mentioned = new Set(mentionsOf(message).map((u) => u.username.toLowerCase()));
  return (
    <>
      {textRuns(message.text, mentioned, store.me.username).map((run, i) =>
        run.kind === 'link' ? (
          <a key={i} href={run.href} target="_blank" rel="noopener noreferrer">
            {run.text}
          </a>
        ) : run.kind === 'mention' ? (
          <span key={i} class={`mention${run.isMe ? ' to-me' : ''}`}>
            {run.text}
          </span>
        ) : (
          <span key={i}>{run.text}</span>
        ),
      )}
    </>
  );
}

/** Files of a message (§11): images inline, the rest as downloads. */
function Attachments({ items, store }: { items: readonly AttachmentInfo[]; store: ChatStore }) {
  if (items.length === 0) return null;
  return (
    <ul class="attachments">
      {items.map((a) =>
        isInlineImage(a) ? (
          <li key={a.id} class="attachment image" data-attachment-id={a.id}>
            <InlineImage attachment={a} store={store} />
          </li>
        ) : (
          <li key={a.id} class="attachment file" data-attachment-id={a.id}>
            <button
              type="button"
              class="file-button"
              aria-label={`Download ${a.name} (${fileSize(a.size)})`}
              onClick={() => void store.download(a)}
            >
              <Icon name="download" size={18} />
              <span class="file-name">{a.name}</span>
              <span class="dim">{fileSize(a.size)}</span>
            </button>
          </li>
        ),
      )}
    </ul>
  );
}

/** The image's bytes are fetched with the token (no cookie to send), shown from a blob: URL. */
function InlineImage({ attachment, store }: { attachment: AttachmentInfo; store: ChatStore }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    store.attachmentUrl(attachment.id).then(
      (u) => live && setUrl(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [attachment.id]);
  const box = inlineBox(attachment);
  const style =
    box === undefined
      ? undefined
      : { width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}` };
  if (failed) return <span class="image-missing">{attachment.name} could not be loaded</span>;
  return url === null ? (
    <span class="image-loading" style={style} aria-label={`Loading ${attachment.name}`} />
  ) : (
    <a href={url} target="_blank" rel="noopener" title={attachment.name}>
      <img src={url} alt={attachment.name} style={style} />
    </a>
  );
}

function Reactions({ message, store }: { message: Message; store: ChatStore }) {
  const entries = Object.entries(message.reactions).filter(([, ids]) => ids.length > 0);
  if (entries.length === 0) return null;
  return (
    <div class="reactions">
      {entries.map(([emoji, ids]) => {
        const mine = ids.includes(store.me.id);
        const names = ids.map((id) =>
          id === store.me.id ? 'you' : (store.users.value[id]?.displayName ?? 'someone'),
        );
        return (
          <button
            key={emoji}
            type="button"
            class={`reaction${mine ? ' mine' : ''}`}
            aria-pressed={mine}
            aria-label={`${emoji} ${ids.length}: ${names.join(', ')}`}
            title={names.join(', ')}
            onClick={() => void store.toggleReaction(message, emoji)}
          >
            <span aria-hidden="true">{emoji}</span> <span class="count">{ids.length}</span>
          </button>
        );
      })}
    </div>
  );
}

export function MessageItem(props: {
  store: ChatStore;
  message: Message;
  showHeader: boolean;
  replyCount?: number;
  inThread?: boolean;
}) {
  const { store, message, showHeader } = props;
  const me = store.me;
  const mine = message.sender.id === me.id;
  const deleted = message.deletedAt !== undefined;
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const [selected, setSelected] = useState(false);
  const name = nameOf(message.sender, store.users.value);
  const highlighted = mentionsUser(message, me.id);
  const deletable = canDelete(
    message,
    me.id,
    store.conversationsById.value[message.conversationId],
  );

  return (
    <li
      class={`message${showHeader ? ' first' : ''}${mine ? ' mine' : ''}${highlighted ? ' mentions-me' : ''}${selected ? ' selected' : ''}`}
      data-seq={message.seq}
      data-message-id={message.id}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('button, a, textarea, input') === null)
          setSelected((s) => !s);
      }}
    >
      {showHeader && !props.inThread && (
        <span class="message-avatar">
          <Avatar id={message.sender.id} name={name} />
        </span>
      )}
      {showHeader && (
        <div class="message-header">
          <strong class="sender">{name}</strong>
          <time dateTime={message.createdAt} title={fullTimestamp(message.createdAt)}>
            {clockTime(message.createdAt)}
          </time>
        </div>
      )}
      {!showHeader && (
        <time
          class="hover-time"
          dateTime={message.createdAt}
          title={fullTimestamp(message.createdAt)}
        >
          {clockTime(message.createdAt)}
        </time>
      )}
      {highlighted && <span class="visually-hidden">{name} mentioned you:</span>}
      {editing ? (
        <EditForm
          initial={message.text}
          onCancel={() => setEditing(false)}
          onSave={async (text) => {
            if (await store.edit(message, text)) setEditing(false);
          }}
        />
      ) : deleted ? (
        <p class="message-text deleted">This message was deleted.</p>
      ) : message.text === '' && message.editedAt === undefined ? null : (
        <p class="message-text">
          <MessageText message={message} store={store} />
          {message.editedAt !== undefined && (
            <span class="edited" title={`Edited ${fullTimestamp(message.editedAt)}`}>
              {' '}
              (edited)
            </span>
          )}
        </p>
      )}
      {!deleted && <Attachments items={attachmentsOf(message)} store={store} />}
      {!deleted && <Reactions message={message} store={store} />}
      {props.replyCount !== undefined && props.replyCount > 0 && (
        <button type="button" class="thread-link" onClick={() => void store.openThread(message.id)}>
          <Icon name="thread" size={16} /> {props.replyCount}{' '}
          {props.replyCount === 1 ? 'reply' : 'replies'}
        </button>
      )}
      {!deleted && !editing && (
        <div class="message-actions" role="toolbar" aria-label={`Actions for message from ${name}`}>
          <button
            type="button"
            class="icon-button"
            aria-label="Add reaction"
            aria-expanded={picking}
            title="Add reaction"
            onClick={() => setPicking((p) => !p)}
          >
            <Icon name="smile" size={18} />
          </button>
          {!props.inThread && (
            <button
              type="button"
              class="icon-button"
              aria-label="Reply in thread"
              title="Reply in thread"
              onClick={() => void store.openThread(message.id)}
            >
              <Icon name="reply" size={18} />
            </button>
          )}
          {mine && (
            <button
              type="button"
              class="icon-button"
              aria-label="Edit message"
              title="Edit"
              onClick={() => setEditing(true)}
            >
              <Icon name="edit" size={18} />
            </button>
          )}
          {deletable && (
            <button
              type="button"
              class="icon-button danger"
              aria-label="Delete message"
              title="Delete"
              onClick={() => {
                const ask = mine
                  ? 'Delete this message for everyone?'
                  : `Delete ${name}’s message for everyone? (as a moderator of this room)`;
                if (window.confirm(ask)) void store.remove(message);
              }}
            >
              <Icon name="trash" size={18} />
            </button>
          )}
          {picking && (
            <div class="emoji-picker" role="group" aria-label="Pick a reaction">
              {QUICK_REACTIONS.map((emoji) => (
                <button
                  key={emoji}
                  type="button"
                  class="emoji"
                  aria-label={`React with ${emoji}`}
                  onClick={() => {
                    setPicking(false);
                    void store.toggleReaction(message, emoji);
                  }}
                >
                  {emoji}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
    </li>
  );
}

function EditForm(props: {
  initial: string;
  onSave: (text: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [text, setText] = useState(props.initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  return (
    <form
      class="edit-form"
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSave(text);
      }}
    >
      <label class="visually-hidden" for="edit-text">
        Edit message
      </label>
      <textarea
        id="edit-text"
        ref={ref}
        value={text}
        rows={Math.min(8, text.split('\n').length + 1)}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') props.onCancel();
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            void props.onSave(text);
          }
        }}
      />
      <div class="edit-buttons">
        <button type="button" class="button small" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" class="button small primary">
          Save
        </button>
      </div>
    </form>
  );
}

/** A send on its way (or failed, with Retry and Discard). */
export function PendingItem(props: {
  store: ChatStore;
  conversationId: string;
  pending: PendingSend;
  showHeader: boolean;
}) {
  const { store, pending } = props;
  const failed = pending.state === 'failed';
  return (
    <li
      class={`message mine pending${failed ? ' failed' : ''}${props.showHeader ? ' first' : ''}`}
      data-pending-ref={pending.ref}
    >
      {props.showHeader && (
        <span class="message-avatar">
          <Avatar id={store.me.id} name={store.me.displayName} />
        </span>
      )}
      {props.showHeader && (
        <div class="message-header">
          <strong class="sender">{store.me.displayName}</strong>
          <time dateTime={pending.createdAt}>{clockTime(pending.createdAt)}</time>
        </div>
      )}
      <p class="message-text">{pending.text}</p>
      <p class="pending-state" role={failed ? 'alert' : undefined}>
        {failed ? (
          <>
            Not sent: {pending.error}{' '}
            <button
              type="button"
              class="link-button"
              onClick={() => store.retry(props.conversationId, pending.ref)}
            >
              Retry
            </button>{' '}
            <button
              type="button"
              class="link-button"
              onClick={() => store.discard(props.conversationId, pending.ref)}
            >
              Discard
            </button>
          </>
        ) : (
          'Sending…'
        )}
      </p>
    </li>
  );
}
