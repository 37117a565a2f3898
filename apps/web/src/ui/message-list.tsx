// The main list of a conversation: day separators, an unread line, groups by sender,
// pending sends at the end. Scrolling up near the top loads older pages (keeping what
// is on screen in place); new messages, and the view or its content changing size,
// keep the view at the bottom when it was there;
// seeing the bottom while the page is visible moves the read marker.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { groupMessages } from '../model/message-groups';
import { replySummaries, rootMessages } from '../model/message-timeline';
import { seenBy } from '../model/read-receipts';
import { dayLabel } from '../model/time-format';
import { nameOf } from '../model/conversation-list';
import type { ChatStore } from '../state/chat-store';
import { MessageItem, PendingItem } from './message-item';

const NEAR_TOP_PX = 160;
const AT_BOTTOM_PX = 48;

export function MessageList({
  store,
  conversationId,
}: {
  store: ChatStore;
  conversationId: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const lastHeight = useRef(0);
  const firstId = useRef<string | undefined>(undefined);
  const [unreadFrom] = useState(() => store.conversationsById.value[conversationId]?.lastReadSeq);
  const timeline = store.timelines.value[conversationId];
  const summary = store.conversationsById.value[conversationId];
  const messages = timeline?.messages ?? [];
  const roots = rootMessages(messages);
  const pending = (timeline?.pending ?? []).filter((p) => p.parentId === undefined);
  const loadingOlder = store.loadingOlder.value[conversationId] ?? false;

  // Keep the view where it was: at the bottom for new messages, on the same message when older ones are prepended.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el === null) return;
    const newFirst = roots[0]?.id;
    if (
      firstId.current !== undefined &&
      newFirst !== firstId.current &&
      lastHeight.current > 0 &&
      !atBottom.current
    ) {
      el.scrollTop += el.scrollHeight - lastHeight.current;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    firstId.current = newFirst;
    lastHeight.current = el.scrollHeight;
  });

  // Stay at the bottom when the view or its content changes size without a render
  // here: a side panel narrowing the column, an image's bytes arriving.
  useEffect(() => {
    const el = scroller.current;
    const list = el?.querySelector('.message-list');
    if (el === null || el === undefined || list === null || list === undefined) return;
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      lastHeight.current = el.scrollHeight;
    });
    observer.observe(el);
    observer.observe(list);
    return () => observer.disconnect();
  }, []);

  // Fill the view: a short first page with more above loads the next one.
  useEffect(() => {
    const el = scroller.current;
    if (
      el !== null &&
      timeline?.loaded &&
      timeline.hasMoreBefore &&
      el.scrollHeight <= el.clientHeight + NEAR_TOP_PX
    ) {
      void store.loadOlder(conversationId);
    }
  }, [timeline?.loaded, timeline?.floorSeq, timeline?.hasMoreBefore]);

  // Read marker: the bottom is in view and the page is visible.
  useEffect(() => {
    if (atBottom.current && store.pageVisible.value) store.markRead(conversationId);
  }, [messages.length, messages.at(-1)?.seq, store.pageVisible.value, conversationId]);

  function onScroll() {
    const el = scroller.current;
    if (el === null) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < AT_BOTTOM_PX;
    lastHeight.current = el.scrollHeight;
    if (el.scrollTop < NEAR_TOP_PX) void store.loadOlder(conversationId);
    if (atBottom.current) store.markRead(conversationId);
  }

  const rows = groupMessages(roots, {
    meId: store.me.id,
    ...(unreadFrom === undefined ? {} : { lastReadSeq: unreadFrom }),
  });
  const replies = replySummaries(messages);
  const now = new Date(store.clock.value);
  const seen =
    summary === undefined
      ? undefined
      : seenBy(store.reads.value, conversationId, roots, summary.members, store.me.id);
  const lastRow = rows.at(-1);
  const lastIsMine = lastRow?.kind === 'group' && lastRow.sender.id === store.me.id;

  return (
    <div
      class="message-scroller"
      ref={scroller}
      onScroll={onScroll}
      tabIndex={0}
      aria-label="Messages"
    >
      {timeline?.loaded && !timeline.hasMoreBefore && (
        <p class="history-start">This is the start of the conversation.</p>
      )}
      {loadingOlder && <p class="history-loading">Loading older messages…</p>}
      {!timeline?.loaded && <p class="history-loading">Loading messages…</p>}
      <ol class="message-list">
        {rows.map((row) => {
          if (row.kind === 'day') {
            return (
              <li key={row.key} class="day-separator" role="separator">
                <span>{dayLabel(row.at, now)}</span>
              </li>
            );
          }
          if (row.kind === 'unread') {
            return (
              <li key={row.key} class="unread-separator" role="separator">
                <span>New</span>
              </li>
            );
          }
          return row.messages.map((message, i) => (
            <MessageItem
              key={message.id}
              store={store}
              message={message}
              showHeader={i === 0}
              replyCount={replies.get(message.id)?.count ?? 0}
            />
          ));
        })}
        {pending.map((p, i) => (
          <PendingItem
            key={p.ref}
            store={store}
            conversationId={conversationId}
            pending={p}
            showHeader={i === 0 && !lastIsMine}
          />
        ))}
      </ol>
      {seen !== undefined &&
        seen.readers.length > 0 &&
        seen.message.id === roots.at(-1)?.id &&
        pending.length === 0 && (
          <p class="seen-by" aria-live="off">
            Seen by {seen.readers.map((u) => nameOf(u, store.users.value)).join(', ')}
          </p>
        )}
    </div>
  );
}
