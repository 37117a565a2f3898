// The message box: Enter sends, Shift+Enter starts a new line, keystrokes become
// (throttled) typing indicators. Sends go out even while reconnecting: the realtime
// client holds them and the server stores each ref once.
import { useEffect, useRef, useState } from 'preact/hooks';
import { capabilitiesOf } from '../state/capabilities';
import type { ChatStore } from '../state/chat-store';
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
  const ref = useRef<HTMLTextAreaElement>(null);
  const canAttach = capabilitiesOf(store.client).attachments;

  useEffect(() => {
    setText('');
    if (props.autoFocus && window.matchMedia('(pointer: fine)').matches) ref.current?.focus();
  }, [conversationId, parentId]);

  function submit() {
    if (text.trim() === '') return;
    store.send(conversationId, text, parentId);
    setText('');
    ref.current?.focus();
  }

  const label = parentId === undefined ? 'Message' : 'Reply';
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {canAttach && (
        <button type="button" class="icon-button" aria-label="Attach a file" title="Attach a file">
          <Icon name="attach" />
        </button>
      )}
      <label class="visually-hidden" for={`composer-${parentId ?? conversationId}`}>
        {label}
      </label>
      <textarea
        id={`composer-${parentId ?? conversationId}`}
        ref={ref}
        rows={1}
        placeholder={props.placeholder}
        value={text}
        maxLength={4000}
        onInput={(e) => {
          const el = e.currentTarget;
          setText(el.value);
          el.style.height = 'auto';
          el.style.height = `${Math.min(el.scrollHeight, 180)}px`;
          if (el.value.trim() !== '') store.typingInput(conversationId);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
        onBlur={() => store.stopTyping(conversationId)}
      />
      <button type="submit" class="send-button" aria-label="Send" disabled={text.trim() === ''}>
        <Icon name="send" />
      </button>
    </form>
  );
}
