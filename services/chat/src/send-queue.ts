// Sends to one conversation run one after another inside this process. Without it,
// n concurrent sends would all read the same highest seq and retry against each
// other (O(n²) inserts); with it they take consecutive seqs in one insert each. The
// unique index still decides races between instances. Each key also carries a
// context (the seq hint) that lives exactly as long as work is queued for it.
export interface SerialQueue<C> {
  run<T>(key: string, task: (context: C) => Promise<T>): Promise<T>;
  /** Keys with queued work (for tests: the map must not grow without bound). */
  readonly size: number;
}

export function createSerialQueue<C>(newContext: () => C): SerialQueue<C> {
  const lanes = new Map<string, { tail: Promise<unknown>; context: C }>();

  return {
    run(key, task) {
      let lane = lanes.get(key);
      if (!lane) {
        lane = { tail: Promise.resolve(), context: newContext() };
        lanes.set(key, lane);
      }
      const current = lane;
      const result = current.tail.then(() => task(current.context));
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      current.tail = tail;
      void tail.then(() => {
        if (current.tail === tail) lanes.delete(key);
      });
      return result;
    },
    get size() {
      return lanes.size;
    },
  };
}
