/**
 * Item 4: the gateway's RSS (VmRSS of the child) with no upstreams, with 100 upstreams, and with
 * 100 upstreams and 1,000 open idle client sessions (each holds its standalone GET stream open).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { httpServers, startGateway, waitConnected, type GatewayProcess } from '../gateway-process.js';
import { closeSessions, openSessions } from '../load.js';
import { rssParts } from '../proc.js';
import { metric, type Metric } from '../report.js';
import { launch, type BenchContext, type Scenario } from '../scenario.js';
import { startUpstreams } from '../upstreams.js';

const UPSTREAMS = 100;
const SESSIONS = 1000;
const MB = 1024 * 1024;

/** RSS after the process settled, with its anonymous / file-backed split as a note. */
async function settledRss(gateway: GatewayProcess, ms: number): Promise<{ rss: number; note: string }> {
  await sleep(ms);
  const { rss, anon, file } = await rssParts(gateway.pid);
  return { rss, note: `anon ${(anon / MB).toFixed(0)} MB + file-backed ${(file / MB).toFixed(0)} MB` };
}

async function emptyGateway(ctx: BenchContext): Promise<Metric> {
  const gateway = await startGateway({ servers: {}, ...launch(ctx, 'memory-empty') });
  try {
    const { rss, note } = await settledRss(gateway, 1000);
    return metric('rss.upstreams_0.sessions_0', rss / MB, 'MB', { note });
  } finally {
    await gateway.stop();
  }
}

export const memory: Scenario = {
  id: 'memory',
  title: 'gateway RSS, 100 upstreams and 1,000 idle sessions',
  async run(ctx) {
    const metrics: Metric[] = [await emptyGateway(ctx)];
    const upstreams = await startUpstreams(UPSTREAMS, 20);
    const gateway = await startGateway({ servers: httpServers(upstreams.urls), ...launch(ctx, 'memory') });
    try {
      await waitConnected(gateway, UPSTREAMS);
      const idle = await settledRss(gateway, 1000);
      metrics.push(metric('rss.upstreams_100.sessions_0', idle.rss / MB, 'MB', { note: idle.note }));
      ctx.progress(`memory: opening ${SESSIONS} sessions`);
      const clients = await openSessions(`${gateway.base}/mcp`, SESSIONS, 25);
      try {
        // Every session is live: the newest one lists the whole catalog.
        const listed = (await clients.at(-1)!.listTools()).tools.length;
        const loaded = await settledRss(gateway, 2000);
        metrics.push(
          metric(`rss.upstreams_100.sessions_${SESSIONS}`, loaded.rss / MB, 'MB', {
            target: { op: '<=', value: 150 },
            note: `${loaded.note}; ${clients.length} sessions, ${listed} tools`,
          }),
          metric('rss.per_session', (loaded.rss - idle.rss) / SESSIONS / 1024, 'KB'),
        );
      } finally {
        await closeSessions(clients);
      }
    } finally {
      await gateway.stop();
      await upstreams.stop();
    }
    return metrics;
  },
};
