/**
 * Hands incoming messages to the SDK's Protocol so that a notification is handled before what came
 * after it. The Protocol handles a notification one microtask after it is delivered but a response
 * at once, and a response ends its request's progress handler: a `notifications/progress` read in
 * the same chunk as its request's result (a stdio line buffer, or one network read holding several
 * SSE events, as Node 24's HTTP parser often gives) would otherwise be dropped as "unknown token".
 * So after a notification, the rest of the batch waits one microtask, behind its handler.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export class OrderedDelivery {
  readonly #deliver: (message: JSONRPCMessage) => void;
  /** Messages waiting behind a notification's handler; undefined when nothing waits. */
  #waiting: JSONRPCMessage[] | undefined;

  constructor(deliver: (message: JSONRPCMessage) => void) {
    this.#deliver = deliver;
  }

  push(message: JSONRPCMessage): void {
    if (this.#waiting) {
      this.#waiting.push(message);
      return;
    }
    this.#deliver(message);
    if ('method' in message && !('id' in message)) {
      this.#waiting = [];
      // Queued after the Protocol's own microtask for the notification's handler.
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    const waiting = this.#waiting ?? [];
    this.#waiting = undefined;
    // A notification among them starts a new wait; push keeps the order either way.
    for (const message of waiting) this.push(message);
  }
}
