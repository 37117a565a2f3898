// The message box: Enter sends, Shift+Enter starts a new line, keystrokes become
// (throttled) typing indicators. Sends go out even while reconnecting: the realtime
// client holds them and the server stores each ref once. Typing `@` and the start of
// a name offers the conversation's members (arrows choose, Enter or Tab takes one,
// Escape closes); whether the name counts as a mention is the server's call. The
// attach button uploads files as soon as they are chosen (progress shown); they go
// with the next send.
import type { UserRef } from '@parley/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { fileSize, uploadPercent } from '../model/attachments';
import { nameOf } from '../model/conversation-list';
import {
  insertMention,
  mentionCandidates,
  mentionQuery,
  type MentionQuery,
} from '../model/mentions';
import type { ChatStore } from '../state/chat-store';
import { Avatar } from './avatar';
import { Icon } from './modal';

export function Composer(props: {
  store: ChatStore;
  conversationId: string;
  parentId?: string;
  placeholder: string;
  autoFocus?: boolean;
}) {
  const { store, conversationId, parentId } = props;
  const [text, setText] = useState('');
  const [typed, setTyped] = useState<MentionQuery | null>(null);
  const [choice, setChoice] = useState(0);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const key = parentId ?? conversationId;
  const files = store.uploads.value[key] ?? [];
  const uploading = files.some((f) => f.state === 'uploading');
  const ready = files.some((f) => f.state === 'done');

  useEffect(() => {
    setText('');
    setTyped(null);
    if (props.autoFocus && window.matchMedia('(pointer: fine)').matches) ref.current?.focus();
  }, [conversationId, parentId]);

  const members = store.conversationsById.value[conversationId]?.members ?? [];
  const candidates =
    typed === null ? [] : mentionCandidates(members, typed.query, store.me.id, store.users.value);
  const open = candidates.length > 0;
  const active = open ? Math.min(choice, candidates.length - 1) : -1;

  function track(el: HTMLTextAreaElement) {
    const next = mentionQuery(el.value, el.selectionStart ?? el.value.length);
    if (next?.start !== typed?.start || next?.query !== typed?.query) setChoice(0);
    setTyped(next);
  }

  function pick(user: UserRef) {
    if (typed === null) return;
    const next = insertMention(text, typed, user.username);
    setText(next.text);
    setTyped(null);
    const el = ref.current;
    if (el !== null) {
      el.value = next.text;
      el.focus();
      el.setSelectionRange(next.caret, next.caret);
    }
  }

  async function submit() {
    if (busy || uploading) return;
    if (ready) {
      setBusy(true);
      const sent = await store.sendFiles(conversationId, key, text, parentId);
      setBusy(false);
      if (!sent) return;
    } else if (text.trim() === '') {
      return;
    } else {
      store.send(conversationId, text, parentId);
    }
    setText('');
    setTyped(null);
    ref.current?.focus();
  }

  const label = parentId === undefined ? 'Message' : 'Reply';
  const listId = `mentions-${key}`;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {files.length > 0 && (
        <ul class="upload-list" aria-label="Files to send">
          {files.map((f) => (
            <li key={f.localId} class={`upload ${f.state}`}>
              <Icon name="attach" size={16} />
              <span class="upload-name">{f.name}</span>
              {f.state === 'uploading' ? (
                <progress
                  max={100}
                  value={uploadPercent(f.sent, f.size)}
                  aria-label={`Uploading ${f.name}`}
                />
              ) : f.state === 'failed' ? (
                <span class="upload-error" role="alert">
                  {f.error}
                </span>
              ) : (
                <span class="dim">{fileSize(f.size)}</span>
              )}
              <button
                type="button"
                class="icon-button"
                aria-label={`Remove ${f.name}`}
                onClick={() => store.dropUpload(key, f.localId)}
              >
                <Icon name="close" size={16} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {open && (
        <ul class="mention-popup" id={listId} role="listbox" aria-label="Mention someone">
          {candidates.map((user, i) => (
            <li
              key={user.id}
              id={`${listId}-${user.id}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : undefined}
              // mousedown, not click: the textarea keeps its focus and caret
              onMouseDown={(e) => {
                e.preventDefault();
                pick(user);
              }}
            >
              <Avatar id={user.id} name={nameOf(user, store.users.value)} size="sm" />
              <span>{nameOf(user, store.users.value)}</span>
              <span class="dim">@{user.username}</span>
            </li>
          ))}
        </ul>
      )}
      <input
        ref={fileInput}
        type="file"
        multiple
        hidden
        aria-label="Files to attach"
        onChange={(e) => {
          const chosen = [...(e.currentTarget.files ?? [])];
          e.currentTarget.value = '';
          if (chosen.length > 0) store.attachFiles(key, chosen);
        }}
      />
      <button
        type="button"
        class="icon-button"
        aria-label="Attach files"
        title="Attach files"
        onClick={() => fileInput.current?.click()}
      >
        <Icon name="attach" />
      </button>
      <label class="visually-hidden" for={`composer-${key}`}>
        {label}
      </label>
      <textarea
        id={`composer-${key}`}
        ref={ref}
        rows={1}
        placeholder={props.placeholder}
        value={text}
        maxLength={4000}
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${candidates[active]!.id}` : undefined}
        onInput={(e) => {
          const el = e.currentTarget;
          setText(el.value);
          track(el);
          el.style.height = 'auto';
          el.style.height = `${Math.min(el.scrollHeight, 180)}px`;
          if (el.value.trim() !== '') store.typingInput(conversationId);
        }}
        onClick={(e) => track(e.currentTarget)}
        onKeyDown={(e) => {
          if (open) {
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              const step = e.key === 'ArrowDown' ? 1 : -1;
              setChoice((active + step + candidates.length) % candidates.length);
              return;
            }
            if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
              e.preventDefault();
              pick(candidates[active]!);
              return;
            }
            if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation(); // the popup closes, not the panel around the composer
              setTyped(null);
              return;
            }
          }
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void submit();
          }
        }}
        onBlur={() => {
          setTyped(null);
          store.stopTyping(conversationId);
        }}
      />
      <button
        type="submit"
        class="send-button"
        aria-label="Send"
        disabled={busy || uploading || (text.trim() === '' && !ready)}
      >
        <Icon name="send" />
      </button>
    </form>
  );
}
