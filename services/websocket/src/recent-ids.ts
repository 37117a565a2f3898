// Bounded memories keyed by id, oldest evicted first (a Map keeps insertion order):
// the recent event ids that make redelivered events harmless, and the in-flight
// WebSocket sends that tell which socket a new message came from.

/** Remembers the last `capacity` ids; add() is false for an id already remembered. */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }
}

/**
 * (sender id, clientMsgId) → the connection the send came from, kept for `ttlMs`:
 * chat's event may reach this instance before or after its HTTP answer, and the
 * sending socket must get only its `ack`, never the echo.
 */
export class InflightSends {
  private readonly entries = new Map<string, { connectionId: string; expires: number }>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  track(senderId: string, clientMsgId: string, connectionId: string): void {
    const key = InflightSends.key(senderId, clientMsgId);
    this.entries.delete(key);
    this.entries.set(key, { connectionId, expires: this.now() + this.ttlMs });
    this.evict();
  }

  /**
   * Drops the entry of a send answered with an error frame, so its message (stored
   * after all, e.g. chat died between storing and answering) reaches that socket too.
   * Fix (found by e2e/faults/test/chat-crash.test.ts): the socket whose send failed
   * was still excluded from the message's fan-out, so the client, told the send
   * failed, saw the stored message only after a later message exposed the seq gap.
   */
  forget(senderId: string, clientMsgId: string, connectionId: string): void {
    const key = InflightSends.key(senderId, clientMsgId);
    if (this.entries.get(key)?.connectionId === connectionId) this.entries.delete(key);
  }

  /** The sending connection, if this instance forwarded that send recently. */
  connectionOf(senderId: string, clientMsgId: string): string | undefined {
    const entry = this.entries.get(InflightSends.key(senderId, clientMsgId));
    if (!entry || entry.expires < this.now()) return undefined;
    return entry.connectionId;
  }

  private evict(): void {
    const t = this.now();
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity && entry.expires >= t) break;
      this.entries.delete(key);
    }
  }

  private static key(senderId: string, clientMsgId: string): string {
    return `${senderId}\u0000${clientMsgId}`;
  }
}
