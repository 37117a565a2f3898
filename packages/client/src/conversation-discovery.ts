// How the connection learns of conversations no `resume` could name: those created
// or joined while it was away. After every `ready` it pages GET /chat/conversations
// (newest activity first, at most conversationListMax) and tracks each conversation
// it does not track yet, catching up the ones new to this session. The first complete
// load is the "first sync", after which a conversation learned of is new to this
// session and delivered from seq 1 (DeliveryLedger decides where tracking starts).
import type { ConversationsResponse } from '@parley/contracts';
import type { ConversationSync } from './conversation-sync';
import type { DeliveryLedger } from './delivery-ledger';
import { ParleyApiError, isSessionRejected } from './errors';
import type { RealtimeEmit } from './realtime-events';
import type { RealtimeDeps, ResolvedOptions } from './realtime-options';
import type { RetrySleeps } from './retry-sleeps';
import type { Connection, SocketLifecycle } from './socket-lifecycle';

/** The largest page GET /chat/conversations answers. */
const CONVERSATIONS_PAGE_MAX = 100;

export interface ConversationDiscoveryDeps {
  /** Without it, only messages and `conversation_updated` frames reveal conversations. */
  conversations: RealtimeDeps['conversations'];
  ledger: DeliveryLedger;
  sync: ConversationSync;
  socket: SocketLifecycle;
  retries: RetrySleeps;
  options: ResolvedOptions;
  emit: RealtimeEmit;
}

export class ConversationDiscovery {
  readonly #deps: ConversationDiscoveryDeps;

  constructor(deps: ConversationDiscoveryDeps) {
    this.#deps = deps;
  }

  /**
   * Pages the conversation list and tracks every conversation not tracked yet,
   * catching up those new to this session. Failures are retried while the socket
   * lives. Resolves once the list is loaded and caught up.
   */
  async discover(conn: Connection): Promise<void> {
    const { conversations: list, ledger, sync, socket, retries, options, emit } = this.#deps;
    if (list === undefined) return;
    const catchUps: Promise<void>[] = [];
    let before: string | undefined;
    let listed = 0;
    let failures = 0;
    let loaded = true;
    for (;;) {
      let page: ConversationsResponse;
      try {
        page = await list({
          limit: Math.min(CONVERSATIONS_PAGE_MAX, options.conversationListMax - listed),
          ...(before === undefined ? {} : { before }),
        });
        failures = 0;
      } catch (error) {
        if (socket.closed || conn.ended || isSessionRejected(error)) return;
        emit('sync_error', { error });
        if (isPermanent(error)) {
          // This server will not list them: do without (no first sync either, so
          // conversations keep starting at the first message seen, as without a list).
          loaded = false;
          break;
        }
        await retries.afterFailure(error, failures++);
        if (socket.closed || conn.ended) return;
        continue;
      }
      // A socket that closed meanwhile: the next `ready` starts over.
      if (socket.closed || conn.ended) return;
      for (const conversation of page.conversations) {
        if (!ledger.knows(conversation.id)) ledger.remember(conversation);
        catchUps.push(sync.learn(conversation.id, conversation.lastSeq));
      }
      listed += page.conversations.length;
      if (page.nextCursor === undefined || listed >= options.conversationListMax) break;
      before = page.nextCursor;
    }
    if (loaded) ledger.markSynced();
    await Promise.all(catchUps);
  }
}

/** A refusal that retrying will not change (a 4xx other than 401, 408 and 429). */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof ParleyApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    ![401, 408, 429].includes(error.status)
  );
}
