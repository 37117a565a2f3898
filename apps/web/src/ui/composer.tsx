// The message box: Enter sends, Shift+Enter starts a new line, keystrokes become
// (throttled) typing indicators. Sends go out even while reconnecting: the realtime
// client holds them and the server stores each ref once. Typing `@` and the start of
// a name offers the conversation's members (arrows choose, Enter or Tab takes one,
// Escape closes); whether the name counts as a mention is the server's call.
import type { UserRef } from '@parley/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { nameOf } from '../model/conversation-list';
import {
  insertMention,
  mentionCandidates,
  mentionQuery,
  type MentionQuery,
} from '../model/mentions';
import { capabilitiesOf } from '../state/capabilities';
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
  const ref = useRef<HTMLTextAreaElement>(null);
  const canAttach = capabilitiesOf(store.client).attachments;
  const key = parentId ?? conversationId;

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

  function submit() {
    if (text.trim() === '') return;
    store.send(conversationId, text, parentId);
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
        submit();
      }}
    >
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
      {canAttach && (
        <button type="button" class="icon-button" aria-label="Attach a file" title="Attach a file">
          <Icon name="attach" />
        </button>
      )}
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
            submit();
          }
        }}
        onBlur={() => {
          setTyped(null);
          store.stopTyping(conversationId);
        }}
      />
      <button type="submit" class="send-button" aria-label="Send" disabled={text.trim() === ''}>
        <Icon name="send" />
      </button>
    </form>
  );
}
