// Typing, both ways: mine is sent at most every few seconds while keys are pressed and
// stopped after a pause or a send; others' expire on a timer that moves the clock.
import { nextExpiry, shouldSendTyping } from '../../model/typing-state';
import type { ChatState } from './shared-state';

/** Stop saying "I am typing" after this long without a keystroke. */
const TYPING_IDLE_MS = 3_000;

export type ChatTyping = ReturnType<typeof createChatTyping>;

export function createChatTyping(state: ChatState) {
  const { now, conversationsById, typing, clock, live, later, cancel } = state;

  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleTypingExpiry(): void {
    cancel(typingTimer);
    const next = nextExpiry(typing.value, now());
    if (next !== undefined) {
      typingTimer = later(next - now() + 20, () => {
        clock.value = now();
        scheduleTypingExpiry();
      });
    }
  }

  let typingSentAt: { id: string; at: number } | undefined;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;
  /** A keystroke in the composer. */
  function typingInput(id: string): void {
    if (conversationsById.value[id] === undefined) return;
    const at = now();
    if (typingSentAt?.id !== id || shouldSendTyping(typingSentAt.at, at)) {
      if (live.rt?.typing(id, true)) typingSentAt = { id, at };
    }
    cancel(typingIdle);
    typingIdle = later(TYPING_IDLE_MS, () => stopTyping(id));
  }

  function stopTyping(id: string): void {
    cancel(typingIdle);
    typingIdle = undefined;
    if (typingSentAt?.id === id) {
      live.rt?.typing(id, false);
      typingSentAt = undefined;
    }
  }

  return { scheduleTypingExpiry, typingInput, stopTyping };
}
