import type { Progress } from '@modelcontextprotocol/sdk/types.js';

/** What a relayed request needs from the side that asked: how to report progress back. */
interface Asker {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: {
    method: 'notifications/progress';
    params: Progress & { progressToken: string | number };
  }) => Promise<void>;
}

/**
 * Request options for passing a request on: the asker's cancellation, a timeout that restarts with
 * each progress report, and progress forwarded under the asker's own progress token (when it gave one).
 */
export function forwardOptions(
  asker: Asker,
  timeoutMs: number,
  progressToken = asker._meta?.progressToken,
): {
  signal: AbortSignal;
  timeout: number;
  resetTimeoutOnProgress: boolean;
  onprogress: ((progress: Progress) => void) | undefined;
} {
  return {
    signal: asker.signal,
    timeout: timeoutMs,
    resetTimeoutOnProgress: true,
    onprogress:
      progressToken === undefined
        ? undefined
        : (progress) => {
            void asker
              .sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } })
              .catch(() => undefined);
          },
  };
}
