// What the app has asked of the server and is still owed, kept apart from any one
// socket: sends until their ack (sent again with the same ref after a reconnect, and
// the server answers a repeated ref once, so nothing is lost or doubled), pings until
// their pong (they end with their socket), and the users whose presence is watched
// (subscribed again after a reconnect).
import type {
  ClientFrameInput,
  Message,
  ServerFrameOf,
  sendFrameSchema,
  z,
} from '@parley/contracts';
import { ParleyRealtimeError } from './errors';

export type SendInput = Omit<z.input<typeof sendFrameSchema>, 'type' | 'ref'> & {
  /** Idempotency key; generated when left out. Reuse it to retry a send safely. */
  ref?: string;
};

interface PendingSend {
  frame: ClientFrameInput;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface PendingPing {
  sentAt: number;
  resolve: (rttMs: number) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  readonly #sends = new Map<string, PendingSend>();
  readonly #pings: PendingPing[] = [];
  readonly #presence = new Set<string>();
  readonly #ackTimeoutMs: number;
  readonly #now: () => number;

  constructor(options: { ackTimeoutMs: number; now: () => number }) {
    this.#ackTimeoutMs = options.ackTimeoutMs;
    this.#now = options.now;
  }

  /**
   * Builds the `send` frame and waits for its ack: `acked` resolves with the stored
   * message, or rejects with the server's error, after ackTimeoutMs, or when closed.
   */
  send(input: SendInput): { frame: ClientFrameInput; acked: Promise<Message> } {
    const { ref = globalThis.crypto.randomUUID(), ...rest } = input;
    const frame = { type: 'send', ref, ...rest } as ClientFrameInput;
    const acked = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#sends.delete(ref);
        reject(
          new ParleyRealtimeError(
            'timeout',
            `no ack for ${ref} within ${this.#ackTimeoutMs} ms`,
            ref,
          ),
        );
      }, this.#ackTimeoutMs);
      this.#sends.set(ref, { frame, resolve, reject, timer });
    });
    return { frame, acked };
  }

  /** An `ack` frame: settles the send with that ref, if one waits. */
  acked(ref: string, message: Message): void {
    const pending = this.#take(ref);
    pending?.resolve(message);
  }

  /** An `error` frame: rejects the send it answers; false when it answers none. */
  refused(frame: ServerFrameOf<'error'>): boolean {
    const { ref, code, message } = frame;
    const pending = ref === undefined ? undefined : this.#take(ref);
    if (pending === undefined) return false;
    pending.reject(new ParleyRealtimeError(code, message, ref));
    return true;
  }

  /** Rejects every send still waiting (the connection closed for good). */
  rejectSends(error: ParleyRealtimeError): void {
    for (const [ref, send] of this.#sends) {
      clearTimeout(send.timer);
      send.reject(new ParleyRealtimeError(error.code, error.message, ref));
    }
    this.#sends.clear();
  }

  /** Waits for the next `pong`; the caller sends the `ping`. */
  ping(timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const entry: PendingPing = {
        sentAt: this.#now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = this.#pings.indexOf(entry);
          if (index >= 0) this.#pings.splice(index, 1);
          reject(new ParleyRealtimeError('timeout', `no pong within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#pings.push(entry);
    });
  }

  /** A `pong` answers the oldest ping (the server answers in order). */
  pong(): void {
    const ping = this.#pings.shift();
    if (ping === undefined) return;
    clearTimeout(ping.timer);
    ping.resolve(this.#now() - ping.sentAt);
  }

  /** The socket ended: no pong will come on it. */
  rejectPings(): void {
    for (const ping of this.#pings.splice(0)) {
      clearTimeout(ping.timer);
      ping.reject(new ParleyRealtimeError('closed', 'disconnected before the pong'));
    }
  }

  watchPresence(userIds: readonly string[]): void {
    for (const id of userIds) this.#presence.add(id);
  }

  /** What to send again on a new socket: unacknowledged sends (same refs), then the presence subscription. */
  replay(): ClientFrameInput[] {
    const frames = [...this.#sends.values()].map((send) => send.frame);
    if (this.#presence.size > 0) {
      frames.push({ type: 'presence_subscribe', userIds: [...this.#presence] });
    }
    return frames;
  }

  #take(ref: string): PendingSend | undefined {
    const pending = this.#sends.get(ref);
    if (pending === undefined) return undefined;
    this.#sends.delete(ref);
    clearTimeout(pending.timer);
    return pending;
  }
}
