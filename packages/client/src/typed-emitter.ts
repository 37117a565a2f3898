// A minimal typed event emitter that works the same in Node and browsers. A
// listener that throws does not break the connection's bookkeeping: the error is
// rethrown on a fresh stack, where it surfaces as an uncaught error of the app.

type Listener<A extends unknown[]> = (...args: A) => void;

/** The emitting side alone, for the parts of an object that raise its events. */
export type Emit<Events extends { [K in keyof Events]: unknown[] }> = <K extends keyof Events>(
  event: K,
  ...args: Events[K]
) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, Set<unknown>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Resolves with the first argument of the next `event` (rejects after `timeoutMs`, if given). */
  next<K extends keyof Events>(event: K, timeoutMs?: number): Promise<Events[K][0]> {
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              off();
              reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`));
            }, timeoutMs);
      const off = this.on(event, ((...args: Events[K]) => {
        off();
        clearTimeout(timer);
        resolve(args[0]);
      }) as Listener<Events[K]>);
    });
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
