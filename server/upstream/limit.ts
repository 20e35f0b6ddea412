/**
 * A counting semaphore: at most `max` tasks run at once, the rest wait in arrival order.
 * Start-up connects every upstream in parallel through one of these.
 */
export function createLimiter(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
