/**
 * Item 1: `echo` latency and throughput, direct vs through /mcp, with 1, 8 and 32 sessions. Also
 * the CPU time each process spends per call (bench client, gateway, upstream), which explains the
 * throughput ratio on a machine with few cores.
 */
import { httpServers, serverName, startGateway, waitConnected } from '../gateway-process.js';
import { closedLoop, closeSessions, echoCall, openSessions } from '../load.js';
import { measureCpu } from '../proc.js';
import { metric, sideBySide, type Metric } from '../report.js';
import { launch, type BenchContext, type Scenario } from '../scenario.js';
import { summarize, type Summary } from '../stats.js';
import { startUpstreams } from '../upstreams.js';

const LEVELS = [1, 8, 32];

interface Measured {
  summary: Summary;
  throughput: number;
  failed: number;
  errors: string[];
  /** CPU µs per successful call, per process: bench client, upstream, gateway (0 on the direct path). */
  cpu: { client: number; upstream: number; gateway: number; total: number };
}

async function measure(
  url: string,
  tool: string,
  sessions: number,
  pids: { upstream: number; gateway?: number },
  ctx: BenchContext,
): Promise<Measured> {
  const clients = await openSessions(url, sessions);
  try {
    const call = echoCall(tool);
    // Warm-up until V8 has optimized the hot paths of every process: a gateway runs for days, and
    // its steady state is what a client sees (with 1.5 s here, the 1-session figures still moved).
    await closedLoop(clients, call, { durationMs: ctx.quick ? 500 : 5000, maxCalls: 50_000 });
    const watched = [process.pid, pids.upstream, ...(pids.gateway ? [pids.gateway] : [])];
    const { result: run, cpu } = await measureCpu(watched, () =>
      closedLoop(clients, call, { durationMs: ctx.quick ? 2000 : 6000, maxCalls: 200_000 }),
    );
    const perCall = (ms = 0) => (ms * 1000) / Math.max(1, run.latencies.length);
    const [client, upstream, gateway] = [perCall(cpu[0]), perCall(cpu[1]), perCall(cpu[2])];
    return {
      summary: summarize(run.latencies),
      throughput: (run.latencies.length / run.elapsedMs) * 1000,
      failed: run.failed,
      errors: run.errors,
      cpu: { client, upstream, gateway, total: client + upstream + gateway },
    };
  } finally {
    await closeSessions(clients);
  }
}

function rows(sessions: number, direct: Measured, via: Measured): Metric[] {
  const failures = direct.failed + via.failed;
  const note = failures
    ? `${direct.failed}+${via.failed} failed: ${[...direct.errors, ...via.errors][0]}`
    : undefined;
  const prefix = `echo.sessions_${sessions}`;
  const out: Metric[] = [
    sideBySide(`${prefix}.p50`, direct.summary.p50, via.summary.p50, 'ms'),
    sideBySide(`${prefix}.p99`, direct.summary.p99, via.summary.p99, 'ms'),
    {
      ...sideBySide(`${prefix}.throughput`, direct.throughput, via.throughput, 'calls/s'),
      ...(note ? { note } : {}),
    },
    metric(`${prefix}.gateway_cpu_per_call`, via.cpu.gateway, 'µs', { note: 'gateway process CPU per call' }),
    { ...sideBySide(`${prefix}.cpu_per_call`, direct.cpu.total, via.cpu.total, 'µs'), note: 'all processes' },
  ];
  if (sessions === 1) {
    out.push(
      metric(`${prefix}.added_p50`, via.summary.p50 - direct.summary.p50, 'ms', {
        target: { op: '<=', value: 1 },
      }),
      metric(`${prefix}.added_p99`, via.summary.p99 - direct.summary.p99, 'ms', {
        target: { op: '<=', value: 5 },
      }),
    );
  }
  if (sessions === 32) {
    out.push(
      metric(`${prefix}.throughput_ratio`, via.throughput / direct.throughput, '×', {
        target: { op: '>=', value: 0.7 },
      }),
    );
  }
  return out;
}

export const latency: Scenario = {
  id: 'latency',
  title: 'echo tool-call latency and throughput, direct vs gateway',
  async run(ctx) {
    const upstreams = await startUpstreams(1, 20);
    const gateway = await startGateway({
      servers: httpServers(upstreams.urls),
      ...launch(ctx, 'latency'),
    });
    const pids = { upstream: upstreams.pids[0]!, gateway: gateway.pid };
    const metrics: Metric[] = [];
    try {
      await waitConnected(gateway, 1);
      for (const sessions of LEVELS) {
        ctx.progress(`latency: ${sessions} session(s), direct`);
        const direct = await measure(upstreams.urls[0]!, 'echo', sessions, { upstream: pids.upstream }, ctx);
        ctx.progress(`latency: ${sessions} session(s), gateway`);
        const via = await measure(`${gateway.base}/mcp`, `${serverName(0)}__echo`, sessions, pids, ctx);
        metrics.push(...rows(sessions, direct, via));
      }
    } finally {
      await gateway.stop();
      await upstreams.stop();
    }
    return metrics;
  },
};
