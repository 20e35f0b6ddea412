/**
 * Item 2: `tools/list` latency through the gateway with 10 and 100 upstreams of 20 tools each,
 * twice: as a raw JSON-RPC POST on an open session, the whole body read (the gateway's latency,
 * which the target is about), and with the SDK client (what an SDK user sees: the same round trip
 * plus the client's own parsing and schema validation of the list). The client's part is measured
 * on its own too, on the same body in this process, so the difference between the two is explained.
 */
import { performance } from 'node:perf_hooks';
import { ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
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

/** Median time of JSON.parse + the SDK's result schema on one `tools/list` body, in this process. */
async function clientParse(url: string, client: Parameters<typeof rawCall>[1]): Promise<number> {
  let body = '';
  await rawCall(url, client, 'tools/list', (text) => (body = text))(client, 0);
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    // A JSON body, or an SSE stream with the response on its `data:` line.
    const json = body.startsWith('{') ? body : (/^data: (.*)$/m.exec(body)?.[1] ?? '');
    const message = JSON.parse(json) as { result: unknown };
    ListToolsResultSchema.parse(message.result);
    times.push(performance.now() - t0);
  }
  return summarize(times).p50;
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
        const raw = await measure(clients, rawCall(url, client, 'tools/list'), ctx);
        const sdk = await measure(clients, () => client.listTools(), ctx);
        const parse = await clientParse(url, client);
        await closeSessions(clients);
        const prefix = `tools_list.upstreams_${count}`;
        metrics.push(
          ...rows(
            prefix,
            raw,
            count === 100,
            `${listed} tools, JSON-RPC POST, body read, ${raw.count} calls`,
          ),
          ...rows(
            `${prefix}.sdk_client`,
            sdk,
            false,
            'the same through the SDK client (parses and validates)',
          ),
          metric(`${prefix}.sdk_client_parse`, parse, 'ms', {
            note: "median time the SDK client's JSON.parse + ListToolsResultSchema take on one such body",
          }),
        );
      } finally {
        await gateway.stop();
        await upstreams.stop();
      }
    }
    return metrics;
  },
};
