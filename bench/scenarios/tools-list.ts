/**
 * Item 2: `tools/list` latency through the gateway with 10 and 100 upstreams of 20 tools each,
 * twice: with the SDK client (what a user sees) and as a raw JSON-RPC POST on the same session
 * (the gateway's part, without the client's validation of a list of 2,000 tools).
 */
import { httpServers, startGateway, waitConnected } from '../gateway-process.js';
import { closedLoop, closeSessions, openSessions, rawCall, type Call } from '../load.js';
import { metric, type Metric } from '../report.js';
import { launch, type BenchContext, type Scenario } from '../scenario.js';
import { summarize, type Summary } from '../stats.js';
import { startUpstreams } from '../upstreams.js';

const TOOLS = 20;

async function measure(clients: Parameters<typeof closedLoop>[0], call: Call, ctx: BenchContext) {
  await closedLoop(clients, call, { durationMs: 2000, maxCalls: 50 });
  const run = await closedLoop(clients, call, { durationMs: 10_000, maxCalls: ctx.quick ? 200 : 1000 });
  return { ...summarize(run.latencies), failed: run.failed, error: run.errors[0] };
}

function rows(
  name: string,
  s: Summary & { failed: number; error?: string },
  target: boolean,
  note: string,
): Metric[] {
  const failed = s.failed ? `; ${s.failed} failed: ${s.error}` : '';
  return [
    metric(`${name}.p50`, s.p50, 'ms', {
      ...(target ? { target: { op: '<=', value: 5 } } : {}),
      note: note + failed,
    }),
    metric(`${name}.p99`, s.p99, 'ms'),
  ];
}

export const toolsList: Scenario = {
  id: 'tools-list',
  title: 'tools/list latency through the gateway, 10 and 100 upstreams',
  async run(ctx) {
    const metrics: Metric[] = [];
    for (const count of [10, 100]) {
      ctx.progress(`tools-list: ${count} upstreams`);
      const upstreams = await startUpstreams(count, TOOLS);
      const gateway = await startGateway({
        servers: httpServers(upstreams.urls),
        ...launch(ctx, `tools-list-${count}`),
      });
      try {
        await waitConnected(gateway, count);
        const url = `${gateway.base}/mcp`;
        const clients = await openSessions(url, 1);
        const client = clients[0]!;
        const listed = (await client.listTools()).tools.length;
        if (listed !== count * TOOLS)
          throw new Error(`the gateway lists ${listed} tools, not ${count * TOOLS}`);
        const sdk = await measure(clients, () => client.listTools(), ctx);
        const raw = await measure(clients, rawCall(url, client, 'tools/list'), ctx);
        await closeSessions(clients);
        const prefix = `tools_list.upstreams_${count}`;
        metrics.push(
          ...rows(prefix, sdk, count === 100, `${listed} tools, SDK client, ${sdk.count} calls`),
          ...rows(`${prefix}.raw`, raw, false, 'same session, plain fetch, body not parsed'),
        );
      } finally {
        await gateway.stop();
        await upstreams.stop();
      }
    }
    return metrics;
  },
};
