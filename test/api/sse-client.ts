/**
 * Reads a real `text/event-stream` answer with fetch and eventsource-parser, as a browser's
 * EventSource would, and lets a test wait for the event it expects.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  event: string;
  data: unknown;
}

export interface SseReader {
  response: Response;
  /** Every event so far, in order. */
  events: SseEvent[];
  /** Comment lines so far (`: ping` arrives as `ping`). */
  comments: string[];
  /** Resolves with the first event from `from` on (default: the next unread) that matches. */
  next(predicate: (event: SseEvent) => boolean, what: string, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when a comment matching `text` has arrived. */
  comment(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ended the stream cleanly; rejects if it broke off. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url` with `headers` and starts reading its events. */
export async function openEventStream(url: string, headers: Record<string, string>): Promise<SseReader> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      events.push({ event: message.event ?? 'message', data: JSON.parse(message.data) as unknown });
      wake();
    },
    onComment: (comment) => {
      comments.push(comment.trim());
      wake();
    },
  });
  let cursor = 0;
  const ended = (async () => {
    if (!response.ok || response.body === null) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  })();
  ended.catch(() => undefined);

  const waitFor = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(attempt);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(attempt);
        reject(
          new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => e.event))}`),
        );
      }, timeoutMs);
      waiters.add(attempt);
      attempt();
    });

  return {
    response,
    events,
    comments,
    next: (predicate, what, timeoutMs = 15_000) =>
      waitFor(
        () => {
          for (; cursor < events.length; cursor++) {
            const event = events[cursor]!;
            if (predicate(event)) {
              cursor++;
              return event;
            }
          }
          return undefined;
        },
        what,
        timeoutMs,
      ),
    comment: (text, timeoutMs = 15_000) =>
      waitFor(() => (comments.includes(text) ? true : undefined), `the comment "${text}"`, timeoutMs).then(
        () => undefined,
      ),
    ended,
    close: () => abort.abort(),
  };
}
