/**
 * Scale-out (issue 15): `echo` calls/s over 32 sessions with one gateway on the file store, one on
 * Redis, and two replicas sharing Redis, and the CPU each process spends per call. With two
 * replicas every session's requests alternate between them (a load balancer with no stickiness,
 * played by the client's fetch so that no proxy's CPU is counted): the first request of a session
 * on the other replica rebuilds it from Redis, the rest find it in memory. On a 2-core machine the
 * two replicas, the upstream and the load generator share the cores, so calls/s is not expected to
 * double here; the per-call CPU shows what the shared store costs.
 */
import { randomBytes } from 'node:crypto';
import {
  httpServers,
  serverName,
  startGateway,
  waitConnected,
  type GatewayProcess,
} from '../gateway-process.js';
import { closedLoop, closeSessions, echoCall, openSession } from '../load.js';
import { measureCpu } from '../proc.js';
import { startRedisHost, type RedisHost } from '../redis-host.js';
import { metric, type Metric } from '../report.js';
import { launch, type BenchContext, type Scenario } from '../scenario.js';
import { summarize } from '../stats.js';
import { startUpstreams } from '../upstreams.js';

const SESSIONS = 32;

/** A fetch that sends each request to the next of `bases` in turn, keeping path and query. */
function roundRobin(bases: readonly string[]): typeof fetch {
  let next = 0;
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const base = new URL(bases[next++ % bases.length]!);
    url.host = base.host;
    return fetch(url, init);
  };
}

async function measure(
  label: string,
  gateways: readonly GatewayProcess[],
  pids: { upstream: number; redis?: number },
  ctx: BenchContext,
): Promise<Metric[]> {
  const bases = gateways.map((g) => g.base);
  const clients = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) =>
      // Each session starts on a different replica, then alternates.
      openSession(`${bases[i % bases.length]}/mcp`, bases.length > 1 ? roundRobin(bases) : undefined),
    ),
  );
  try {
    const call = echoCall(`${serverName(0)}__echo`);
    await closedLoop(clients, call, { durationMs: ctx.quick ? 500 : 4000, maxCalls: 50_000 });
    const watched = [
      process.pid,
      pids.upstream,
      ...gateways.map((g) => g.pid),
      ...(pids.redis ? [pids.redis] : []),
    ];
    const { result: run, cpu } = await measureCpu(watched, () =>
      closedLoop(clients, call, { durationMs: ctx.quick ? 2000 : 6000, maxCalls: 200_000 }),
    );
    const calls = Math.max(1, run.latencies.length);
    const perCall = (ms: number) => (ms * 1000) / calls;
    const gatewayCpu = cpu.slice(2, 2 + gateways.length).reduce((a, b) => a + b, 0);
    const redisCpu = pids.redis ? cpu[2 + gateways.length]! : 0;
    const prefix = `scale.${label}`;
    const summary = summarize(run.latencies);
    return [
      metric(`${prefix}.throughput`, (run.latencies.length / run.elapsedMs) * 1000, 'calls/s', {
        ...(run.failed ? { note: `${run.failed} failed: ${run.errors[0]}` } : {}),
      }),
      metric(`${prefix}.p50`, summary.p50, 'ms'),
      metric(`${prefix}.gateway_cpu_per_call`, perCall(gatewayCpu), 'µs', {
        note:
          gateways.length > 1
            ? `both replicas: ${cpu
                .slice(2, 2 + gateways.length)
                .map((ms) => Math.round(perCall(ms)))
                .join(' + ')} µs`
            : 'gateway process CPU per call',
      }),
      ...(pids.redis
        ? [
            metric(`${prefix}.redis_cpu_per_call`, perCall(redisCpu), 'µs', {
              note: 'redis-server CPU per call',
            }),
          ]
        : []),
    ];
  } finally {
    await closeSessions(clients);
  }
}

export const scaleOut: Scenario = {
  id: 'scale-out',
  title: 'calls/s and CPU per call: 1 gateway (file store), 1 and 2 replicas on Redis',
  async run(ctx) {
    const upstreams = await startUpstreams(1, 20);
    const servers = httpServers(upstreams.urls);
    const metrics: Metric[] = [];
    let redis: RedisHost | undefined;
    const running: GatewayProcess[] = [];
    const start = async (label: string, systemConfig?: object, secretKey?: string) => {
      const gateway = await startGateway({ servers, systemConfig, secretKey, ...launch(ctx, label) });
      running.push(gateway);
      await waitConnected(gateway, 1);
      return gateway;
    };
    const stopAll = async () => {
      await Promise.all(running.splice(0).map((g) => g.stop()));
    };
    try {
      ctx.progress('scale-out: 1 gateway, file store');
      const file = await start('scale-file');
      metrics.push(...(await measure('replicas_1_file', [file], { upstream: upstreams.pids[0]! }, ctx)));
      await stopAll();

      redis = await startRedisHost();
      const store = { store: { type: 'redis', url: redis.url } };
      const key = randomBytes(32).toString('hex');
      ctx.progress('scale-out: 1 replica on Redis');
      const one = await start('scale-redis-1', store, key);
      metrics.push(
        ...(await measure(
          'replicas_1_redis',
          [one],
          { upstream: upstreams.pids[0]!, redis: redis.pid },
          ctx,
        )),
      );
      ctx.progress('scale-out: 2 replicas on Redis, no stickiness');
      const two = await start('scale-redis-2', store, key);
      metrics.push(
        ...(await measure(
          'replicas_2_redis',
          [one, two],
          { upstream: upstreams.pids[0]!, redis: redis.pid },
          ctx,
        )),
      );
    } finally {
      await stopAll();
      await redis?.stop();
      await upstreams.stop();
    }
    return metrics;
  },
};
