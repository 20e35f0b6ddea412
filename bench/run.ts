/**
 * `npm run bench`: starts everything on 127.0.0.1 (SDK upstreams, the built gateway, an
 * oidc-provider authorization server) and measures the direct path and the gateway side by side.
 *
 *   npm run bench [-- --json] [--quick] [--only <id>[,<id>…]] [--profile <dir>] [--gateway <main.js>]
 *
 * stdout: the table, or with --json one JSON object per line (the table then goes to stderr).
 */
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { NODE_FLAGS } from './gateway-process.js';
import { machineCpuMs, ownCpuMs } from './proc.js';
import { jsonLine, metric, notRun, table, type Metric } from './report.js';
import type { BenchContext, Scenario } from './scenario.js';
import { coldStart } from './scenarios/cold-start.js';
import { latency } from './scenarios/latency.js';
import { memory } from './scenarios/memory.js';
import { oauthRefresh } from './scenarios/oauth-refresh.js';
import { scaleOut } from './scenarios/scale-out.js';
import { toolsList } from './scenarios/tools-list.js';

const SCENARIOS: Scenario[] = [latency, toolsList, coldStart, memory, oauthRefresh, scaleOut];

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'string' },
    gateway: { type: 'string' },
  },
  strict: true,
});

// The SDK clients of the load generator pass one AbortSignal to every fetch of a session, and
// undici releases its listener only when the request is garbage-collected: Node then warns about
// "1501 abort listeners". It says nothing about the gateway; other warnings still print.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'MaxListenersExceededWarning') console.error(`${warning.name}: ${warning.message}`);
});

const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}

const ctx: BenchContext = {
  quick: values.quick,
  profileDir: values.profile,
  gatewayMain: values.gateway,
  progress: (message) => console.error(`· ${message}`),
};

const started = Date.now();
const machine = [
  metric('machine.cores', availableParallelism(), 'cores', { note: cpus()[0]?.model.trim() }),
  { name: 'machine.node', value: null, unit: '', note: process.version },
  { name: 'gateway.node_flags', value: null, unit: '', note: NODE_FLAGS.join(' ') || 'none' },
];
const results: Metric[] = [...machine];
for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
  ctx.progress(`${scenario.id}: ${scenario.title}`);
  const t0 = Date.now();
  const [machine0, own0] = await Promise.all([machineCpuMs(), ownCpuMs()]);
  try {
    results.push(...(await scenario.run(ctx)));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    results.push(notRun(scenario.id, reason));
  }
  const [machine1, own1] = await Promise.all([machineCpuMs(), ownCpuMs()]);
  // What other processes used meanwhile (the machine is not ours alone): high values mean noisy numbers.
  const others = machine1.busy - machine0.busy - (own1 - own0);
  results.push(
    metric(`noise.${scenario.id}`, Math.max(0, (others / (machine1.total - machine0.total)) * 100), '%', {
      note: 'CPU used by other processes meanwhile',
    }),
  );
  ctx.progress(`${scenario.id}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
results.push(metric('bench.duration', (Date.now() - started) / 1000, 's'));

const rendered = table(results);
if (values.json) {
  for (const m of results) process.stdout.write(`${jsonLine(m)}\n`);
  console.error(`\n${rendered}`);
} else {
  console.log(rendered);
}
// Undici keeps idle sockets to the stopped children; nothing else is pending.
process.exit(0);
