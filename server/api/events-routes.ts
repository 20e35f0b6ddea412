/**
 * `GET /api/events`: the dashboard's live view, pushed as Server-Sent Events instead of polled.
 * On connect the whole server list (`servers`); then, coalesced over a short window, `server`
 * (one summary) for each server whose state, auth stage, lists or settings changed, `removed`
 * for a server that is gone, and `settings` (the settings status) when the file was applied or
 * rejected. A `: ping` comment keeps proxies from closing an idle stream. Shutdown ends every
 * stream cleanly, so `app.close()` does not wait on them.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import type { FastifyInstance } from 'fastify';
import type { SettingsStatus } from '../settings/status.js';
import type { SettingsStore } from '../settings/store.js';
import type { UpstreamManager } from '../upstream/manager.js';
import type { ServerSummaries } from './server-list.js';

/** Something the open pages should hear about. */
export type LiveChange = { kind: 'server'; name: string } | { kind: 'settings' };

export interface EventsRoutesOptions {
  summaries: ServerSummaries;
  settingsStatus: () => SettingsStatus;
  /** Subscribes to changes; returns the unsubscribe function. */
  subscribe: (listener: (change: LiveChange) => void) => () => void;
  /** Time between `: ping` comments (default 25 s). */
  pingMs?: number;
  /** Changes within this window go out as one event per server (default 50 ms). */
  coalesceMs?: number;
}

const DEFAULT_PING_MS = 25_000;
const DEFAULT_COALESCE_MS = 50;

/** The changes of the manager (state, lists, auth stage, removal) and of the settings file. */
export function liveChanges(
  manager: UpstreamManager,
  store: SettingsStore,
): (listener: (change: LiveChange) => void) => () => void {
  return (listener) => {
    const off = [
      manager.on((event) => listener({ kind: 'server', name: event.server })),
      store.on('change', ({ diff }) => {
        listener({ kind: 'settings' });
        // A settings edit changes what the summary shows (enabled, tools) before the manager acts.
        for (const name of [...diff.added, ...diff.changed, ...diff.removed])
          listener({ kind: 'server', name });
      }),
      store.on('invalid', () => listener({ kind: 'settings' })),
    ];
    return () => off.forEach((unsubscribe) => unsubscribe());
  };
}

/** The event stream route. */
export async function eventsRoutes(app: FastifyInstance, opts: EventsRoutesOptions): Promise<void> {
  const open = new Set<() => void>();

  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      // A buffering proxy (nginx) would hold events back until its buffer fills.
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) => {
      // A summary read after the stream ended (the page left, shutdown) has no one to go to.
      if (!raw.writableEnded && !raw.destroyed)
        raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // Summaries are read asynchronously (a per-user server counts its people): one batch at a
    // time, in order, so an older summary never overtakes a newer one.
    let queue = Promise.resolve();
    const enqueue = (work: () => Promise<void>) => {
      queue = queue
        .then(work)
        .catch((error: unknown) => req.log.warn({ err: String(error) }, 'event stream update failed'));
    };

    const servers = new Set<string>();
    let settings = false;
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      flushTimer = undefined;
      const names = [...servers];
      const withSettings = settings;
      servers.clear();
      settings = false;
      enqueue(async () => {
        if (withSettings) send('settings', opts.settingsStatus());
        for (const name of names) {
          const summary = await opts.summaries.one(name);
          if (summary === undefined) send('removed', { name });
          else send('server', summary);
        }
      });
    };
    const unsubscribe = opts.subscribe((change) => {
      if (change.kind === 'settings') settings = true;
      else servers.add(change.name);
      flushTimer ??= setTimeout(flush, opts.coalesceMs ?? DEFAULT_COALESCE_MS);
    });
    const ping = setInterval(() => raw.write(': ping\n\n'), opts.pingMs ?? DEFAULT_PING_MS);
    ping.unref();

    const stop = () => {
      unsubscribe();
      clearTimeout(flushTimer);
      clearInterval(ping);
      open.delete(end);
    };
    const end = () => {
      stop();
      raw.end();
    };
    open.add(end);
    raw.on('close', stop);
    req.log.debug({}, 'event stream opened');
    enqueue(async () => send('servers', await opts.summaries.list()));
  });

  // Before the server closes its connections: each stream ends as a stream should, and the page's
  // EventSource reconnects to whatever starts next.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
}
