// Group commit per key: at most one write per key is in flight; the values that arrive
// meanwhile are merged and written together by the next one. Every caller resolves
// once a write that covers its value is stored (or rejects with that write's error),
// so callers see the same guarantee as writing alone, while a busy key costs one write
// per write-time instead of one per value. With `pauseMs`, a key that is still busy
// when its write ends waits that long before the next one (a commit delay): a hot key
// is written at most once per pauseMs + write-time, its callers wait up to pauseMs
// longer, and a key written now and then is written at once, as without it.
export interface CoalescedWrites<V> {
  write(key: string, value: V): Promise<void>;
}

interface KeyState<V> {
  value: V | undefined;
  waiters: { resolve(): void; reject(err: unknown): void }[];
}

export function createCoalescedWrites<V>(
  store: (key: string, value: V) => Promise<void>,
  merge: (a: V, b: V) => V,
  { pauseMs = 0 }: { pauseMs?: number } = {},
): CoalescedWrites<V> {
  const keys = new Map<string, KeyState<V>>();

  async function drain(key: string, state: KeyState<V>): Promise<void> {
    let first = true;
    while (state.waiters.length > 0) {
      if (!first && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      first = false;
      const waiters = state.waiters.splice(0);
      const value = state.value as V;
      state.value = undefined;
      try {
        await store(key, value);
        for (const waiter of waiters) waiter.resolve();
      } catch (err) {
        for (const waiter of waiters) waiter.reject(err);
      }
    }
    keys.delete(key);
  }

  return {
    write(key, value) {
      let state = keys.get(key);
      const idle = state === undefined;
      if (!state) keys.set(key, (state = { value: undefined, waiters: [] }));
      state.value = state.value === undefined ? value : merge(state.value, value);
      const done = new Promise<void>((resolve, reject) => state.waiters.push({ resolve, reject }));
      if (idle) void drain(key, state);
      return done;
    },
  };
}
