/* global EventSource */
/**
 * The live feed: `GET /api/events` (server-sent events, with the session cookie). The gateway
 * sends the whole list first, then one server's summary per change, removals and settings status.
 * EventSource reconnects by itself after a dropped connection; when the gateway refused the stream
 * (an HTTP error ends an EventSource for good) this module asks whether the session is still
 * alive and either reopens it or reports that the person must sign in again.
 */
import { api } from './api.js';
import { isSignedIn } from './session.js';

const RETRY_MS = 2000;

/**
 * Starts the feed into `state` (a PageState). `onSignedOut()` is called when the gateway says the
 * session is gone. Returns a function that stops it.
 */
export function startEvents(state, { onSignedOut }) {
  let source;
  let timer;
  let stopped = false;

  const parse = (event) => {
    try {
      return JSON.parse(event.data);
    } catch {
      console.warn('gatehouse: an event that is not JSON was ignored', event.type);
      return undefined;
    }
  };

  const refreshSettings = () =>
    api('api/settings/status')
      .then((status) => !stopped && state.setSettings(status))
      .catch(() => undefined); // the banner is extra; a failure here must not hide the servers

  const open = () => {
    source = new EventSource('api/events');
    source.addEventListener('open', () => {
      state.setLive('live');
      refreshSettings();
    });
    source.addEventListener('servers', (event) => {
      const list = parse(event);
      if (Array.isArray(list)) state.setServers(list);
    });
    source.addEventListener('server', (event) => {
      const server = parse(event);
      if (server?.name !== undefined) state.upsertServer(server);
    });
    source.addEventListener('removed', (event) => {
      const removed = parse(event);
      if (removed?.name !== undefined) state.removeServer(removed.name);
    });
    source.addEventListener('settings', (event) => {
      const status = parse(event);
      if (status) state.setSettings(status);
    });
    source.addEventListener('error', () => {
      if (stopped) return;
      state.setLive('lost');
      // CONNECTING: the browser retries by itself. CLOSED: the gateway answered with an error.
      if (source.readyState !== EventSource.CLOSED) return;
      source.close();
      isSignedIn()
        .then((signedIn) => {
          if (stopped) return;
          if (signedIn) timer = setTimeout(open, RETRY_MS);
          else onSignedOut();
        })
        .catch(() => {
          if (!stopped) timer = setTimeout(open, RETRY_MS);
        });
    });
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
