/**
 * Item 5: an OAuth upstream with 5-second access tokens and rotating refresh tokens, 32 callers
 * through the gateway for 60 s. Authorization is done as a person would: POST …/authorize, the
 * authorization server's login and consent pages (the fixture's fetch + cookie jar helper), then
 * the redirect delivered to the gateway's /oauth/callback.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startGateway, waitConnected, type GatewayProcess } from '../gateway-process.js';
import { closedLoop, closeSessions, echoCall, openSessions } from '../load.js';
import type { OAuthHostConsented, OAuthHostCounts, OAuthHostReady, OAuthHostRequest } from '../oauth-host.js';
import { metric, type Metric } from '../report.js';
import { launch, type Scenario } from '../scenario.js';
import { summarize } from '../stats.js';

const CALLERS = 32;
const SERVER = 'secure';

interface OAuthHost {
  url: string;
  counts(): Promise<OAuthHostCounts>;
  /** Signs in and consents at the authorization server; returns the redirect to the gateway. */
  consent(authorizationUrl: string): Promise<URL>;
  stop(): Promise<void>;
}

async function startOAuthHost(): Promise<OAuthHost> {
  const entry = join(import.meta.dirname, '..', 'oauth-host.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4096)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type?: string }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve(message as T);
      };
      child.on('message', onMessage);
      void exited.then(() =>
        reject(new Error(`the OAuth fixture host exited: ${err.trim().split('\n').at(-1)}`)),
      );
    });
  const ask = <T>(request: OAuthHostRequest, answer: string) => {
    const reply = next<T>(answer);
    child.send(request);
    return reply;
  };
  const ready = await next<OAuthHostReady>('ready');
  return {
    url: ready.url,
    counts: () => ask<OAuthHostCounts>({ type: 'counts' }, 'counts'),
    consent: async (authorizationUrl) => {
      const { redirect, error } = await ask<OAuthHostConsented>(
        { type: 'consent', authorizationUrl },
        'consented',
      );
      if (!redirect) throw new Error(`consent at the authorization server failed: ${error}`);
      return new URL(redirect);
    },
    stop: async () => {
      child.disconnect();
      await exited;
    },
  };
}

/**
 * Authorizes the upstream end to end, as a person at the dashboard would: once the first
 * connection's 401 has been handled (stage `awaiting_user`), not while the gateway is still
 * discovering and registering on its own.
 */
async function authorize(gateway: GatewayProcess, host: OAuthHost): Promise<void> {
  type Listed = Array<{ name: string; auth?: { stage: string } }>;
  const deadline = Date.now() + 15_000;
  let stage: string | undefined;
  while ((stage = (await gateway.api<Listed>('/api/servers'))[0]?.auth?.stage) !== 'awaiting_user') {
    if (Date.now() > deadline) throw new Error(`the upstream's auth stage stayed "${stage}"`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { authorizationUrl } = await gateway.api<{ authorizationUrl: string }>(
    `/api/servers/${SERVER}/authorize`,
    {
      method: 'POST',
    },
  );
  const redirect = await host.consent(authorizationUrl);
  // The redirect names the gateway as localhost; deliver it to the address it listens on.
  const response = await fetch(`${gateway.base}${redirect.pathname}${redirect.search}`);
  if (!response.ok) {
    // The callback answers with a page for a person: keep its text, drop the markup.
    const text = (await response.text())
      .replace(/<style[\s\S]*?<\/style>|<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ');
    throw new Error(`/oauth/callback answered ${response.status}: ${text.trim().slice(0, 300)}`);
  }
}

/** Counts changes of auth.token.lastRefreshAt seen through the admin API until `stop` resolves. */
async function watchRefreshes(gateway: GatewayProcess, stop: Promise<unknown>): Promise<number> {
  type Detail = { auth?: { token?: { lastRefreshAt: number | null } | null } };
  const seen = new Set<number>();
  let done = false;
  void stop.finally(() => (done = true));
  while (!done) {
    const detail = await gateway.api<Detail>(`/api/servers/${SERVER}`);
    const at = detail.auth?.token?.lastRefreshAt;
    if (typeof at === 'number') seen.add(at);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return seen.size;
}

export const oauthRefresh: Scenario = {
  id: 'oauth',
  title: 'OAuth upstream, 5 s access tokens, rotating refresh tokens, 32 callers',
  async run(ctx) {
    const durationMs = ctx.quick ? 15_000 : 60_000;
    const host = await startOAuthHost();
    const gateway = await startGateway({
      servers: { [SERVER]: { type: 'streamable-http', url: host.url } },
      ...launch(ctx, 'oauth'),
    });
    try {
      await authorize(gateway, host);
      await waitConnected(gateway, 1, 15_000);
      const clients = await openSessions(`${gateway.base}/mcp`, CALLERS);
      const before = await host.counts();
      ctx.progress(`oauth: ${CALLERS} callers for ${durationMs / 1000} s`);
      const t0 = performance.now();
      const loop = closedLoop(clients, echoCall(`${SERVER}__echo`), { durationMs, maxCalls: 10_000_000 });
      const [run, seenRefreshes] = await Promise.all([loop, watchRefreshes(gateway, loop)]);
      const seconds = (performance.now() - t0) / 1000;
      await closeSessions(clients);
      const after = await host.counts();
      const s = summarize(run.latencies);
      const tokenErrors = after.tokenErrors.slice(before.tokenErrors.length);
      const metrics: Metric[] = [
        metric('oauth.calls', run.calls, 'calls', { note: `${CALLERS} callers, ${seconds.toFixed(1)} s` }),
        metric('oauth.failed', run.failed, 'calls', {
          target: { op: '<=', value: 0 },
          ...(run.failed ? { note: run.errors[0]!.slice(0, 160) } : {}),
        }),
        metric('oauth.refreshes', after.refreshes - before.refreshes, 'grants', {
          note: `refresh grants at the AS; ${seenRefreshes} lastRefreshAt values seen via the API`,
        }),
        metric('oauth.token_errors', tokenErrors.length, 'errors', {
          target: { op: '<=', value: 0 },
          ...(tokenErrors.length ? { note: [...new Set(tokenErrors)].join(', ') } : {}),
        }),
        metric('oauth.access_tokens_used', after.accessTokensSeen - before.accessTokensSeen, 'tokens'),
        metric('oauth.upstream_rejections', after.rejected - before.rejected, 'requests', {
          note: 'upstream 401s the gateway refreshed and retried',
        }),
        metric('oauth.p50', s.p50, 'ms'),
        metric('oauth.p99', s.p99, 'ms'),
        metric('oauth.throughput', (run.latencies.length / run.elapsedMs) * 1000, 'calls/s'),
      ];
      return metrics;
    } finally {
      await gateway.stop();
      await host.stop();
    }
  },
};
