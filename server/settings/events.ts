/**
 * A small typed event hub: `on(event, listener)` returns an unsubscribe function. A listener that
 * throws or rejects is reported to `onListenerError` and does not stop the others.
 */
export type Listener<T> = (value: T) => void | Promise<void>;

/** Listeners per event name; `Events` maps each name to the value its listeners receive. */
export class EventHub<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: (event: string, error: unknown) => void;

  constructor(onListenerError: (event: string, error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Subscribes `listener` to `event`; call the result to unsubscribe. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Calls every listener of `event` with `value`. */
  emit<E extends keyof Events>(event: E, value: Events[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])] as Listener<Events[E]>[]) {
      try {
        const result = listener(value);
        if (result instanceof Promise)
          result.catch((error: unknown) => this.#onListenerError(String(event), error));
      } catch (error) {
        this.#onListenerError(String(event), error);
      }
    }
  }
}
