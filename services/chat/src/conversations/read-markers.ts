// POST /chat/conversations/:id/read. The marker only moves forward: a lower or equal
// seq is a no-op 204 without an event. A seq past the newest message is clamped to
// it (a client racing a new message is not an error), so the marker never points at
// a message that does not exist yet.
import type { Principal } from '@parley/server-kit';
import { readEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { requireMember } from './conversation-access';
import { READ_MARKERS_COLLECTION, readMarkerId } from './read-marker-store';

export async function markRead(
  services: ChatServices,
  caller: Principal,
  conversationId: string,
  requestedSeq: number,
): Promise<void> {
  const conversation = requireMember(
    await services.conversations.findById(conversationId),
    caller.userId,
  );
  // lastSeq may lag a just-stored message, so a seq past it is checked against the messages
  const seq =
    requestedSeq <= conversation.lastSeq
      ? requestedSeq
      : Math.min(requestedSeq, await services.messages.maxSeq(conversationId));
  if (seq <= 0) return;
  const events = [readEvent(conversation, caller.userId, seq)];
  const moved = await services.readMarkers.advance(conversationId, caller.userId, seq, events);
  if (moved)
    services.outbox.dispatch(
      READ_MARKERS_COLLECTION,
      readMarkerId(conversationId, caller.userId),
      events,
    );
}
