/** Item 3: from launching the gateway until 100 HTTP upstreams are connected and listed via /mcp. */
import { performance } from 'node:perf_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { httpServers, startGateway, type GatewayProcess } from '../gateway-process.js';
import { openSession } from '../load.js';
import { metric, type Metric } from '../report.js';
import { launch, type Scenario } from '../scenario.js';
import { median, round } from '../stats.js';
import { startUpstreams } from '../upstreams.js';

const UPSTREAMS = 100;
const TOOLS = 20;
const POLL_MS = 20;
const GIVE_UP_MS = 60_000;

/** Lists tools through /mcp until every upstream's are there; returns ms since launch. */
async function untilListed(gateway: GatewayProcess): Promise<number> {
  let client: Client | undefined;
  try {
    client = await openSession(`${gateway.base}/mcp`);
    for (;;) {
      const { tools } = await client.listTools();
      const now = performance.now();
      if (tools.length >= UPSTREAMS * TOOLS) return now - gateway.launchedAt;
      if (now - gateway.launchedAt > GIVE_UP_MS)
        throw new Error(`only ${tools.length} tools listed after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await client?.close();
  }
}

export const coldStart: Scenario = {
  id: 'cold-start',
  title: 'cold start with 100 HTTP upstreams',
  async run(ctx) {
    const upstreams = await startUpstreams(UPSTREAMS, TOOLS);
    const ready: number[] = [];
    const listening: number[] = [];
    try {
      const runs = ctx.quick ? 1 : 3;
      for (let i = 0; i < runs; i++) {
        ctx.progress(`cold-start: run ${i + 1} of ${runs}`);
        const gateway = await startGateway({
          servers: httpServers(upstreams.urls),
          ...launch(ctx, 'cold-start'),
        });
        try {
          listening.push(gateway.listeningAt - gateway.launchedAt);
          ready.push(await untilListed(gateway));
        } finally {
          await gateway.stop();
        }
      }
    } finally {
      await upstreams.stop();
    }
    const runs = ready.map((ms) => String(round(ms))).join(', ');
    const metrics: Metric[] = [
      metric('cold_start.upstreams_100.listening', median(listening), 'ms', {
        note: 'launch → banner (median)',
      }),
      metric('cold_start.upstreams_100.ready', median(ready), 'ms', {
        target: { op: '<=', value: 3000 },
        note: `median of ${ready.length} (${runs} ms)`,
      }),
    ];
    return metrics;
  },
};
