// What the harness's injector (createInjector in websocket-harness.ts) and the chat
// stand-in (chat-stub.ts) publish events through.
import type { EventData, EventType, ParleyEvent } from '@parley/contracts';

/** Publishes contract-valid events the way chat does. */
export interface EventInjector {
  publish<T extends EventType>(
    type: T,
    data: EventData<T>,
    recipients: string[],
  ): Promise<ParleyEvent>;
  publishEvent(event: ParleyEvent): Promise<void>;
  /** Publishes any envelope as it is (unknown types, other versions). */
  publishRaw(envelope: { id: string; type: string }): Promise<void>;
  close(): Promise<void>;
}
