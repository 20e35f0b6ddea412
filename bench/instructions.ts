/**
 * Instructions per proxied call, counted by valgrind's callgrind: a number that stays put when the
 * machine's speed does not (wall-clock figures on a shared 2-vCPU VM move by ±15 % between runs).
 * For comparing two builds' per-call work, e.g. before and after a change to the hot path.
 *
 *   node --import tsx bench/instructions.ts [--gateway path/to/dist/server/main.js] [--calls 2000]
 *     [--auth none|key]
 *
 * `--auth key` runs the gateway with `systemConfig.inboundAuth: {}` and calls with an API key, so
 * the inbound credential check is part of every call (default `none`: the open loopback endpoint).
 *
 * One upstream (the bench's SDK server, 20 tools) in this process; the gateway under callgrind in a
 * child, with npm start's node flags; one SDK client calling `echo` sequentially. The counters are
 * zeroed after a warm-up (so start-up and JIT warm-up are left out) and dumped after `--calls`
 * calls: what remains is the gateway's whole per-call cost, garbage collection included. Needs
 * valgrind (Debian's package); the gateway runs some 50 times slower under it, so a run of 2,000
 * calls takes a few minutes. Prints one JSON line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { NODE_FLAGS } from './gateway-process.js';
import { listenUpstream } from './upstreams.js';

const { values } = parseArgs({
  options: {
    gateway: { type: 'string', default: join(import.meta.dirname, '..', 'dist', 'server', 'main.js') },
    calls: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '400' },
    auth: { type: 'string', default: 'none' },
  },
});
if (values.auth !== 'none' && values.auth !== 'key') throw new Error('--auth must be none or key');
const calls = Number(values.calls);
const warmup = Number(values.warmup);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-instructions-'));
const upstream = await listenUpstream('instructions', 20);
const settings = join(dir, 'mcp_settings.json');
writeFileSync(
  settings,
  JSON.stringify({
    mcpServers: { up: { type: 'streamable-http', url: upstream.url } },
    ...(values.auth === 'key' ? { systemConfig: { inboundAuth: {} } } : {}),
  }),
);

const gateway = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    // V8 writes and rewrites machine code: valgrind must look for that everywhere.
    '--smc-check=all',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    process.execPath,
    ...NODE_FLAGS,
    values.gateway,
    '--config',
    settings,
    '--port',
    '0',
  ],
  {
    env: {
      ...process.env,
      GATEHOUSE_ADMIN_TOKEN: 'instructions-bench-admin-token',
      GATEHOUSE_SECRET_KEY: '0'.repeat(64),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  },
);
let out = '';
gateway.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
const exited = new Promise((resolve) => gateway.once('exit', resolve));

try {
  const base = await until(() => /listening on (http:\/\/\S+)[\s\S]*Dashboard/.exec(out)?.[1]);
  const headers: Record<string, string> = {};
  if (values.auth === 'key') {
    const created = await fetch(`${base}/api/keys`, {
      method: 'POST',
      headers: { authorization: 'Bearer instructions-bench-admin-token', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', scopes: ['mcp:all'] }),
    });
    headers.authorization = `Bearer ${((await created.json()) as { secret: string }).secret}`;
  }
  const client = new Client({ name: 'instructions-bench', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } }),
  );
  await until(async () =>
    (await client.listTools()).tools.some((t) => t.name === 'up__echo') ? true : undefined,
  );
  for (let i = 0; i < warmup; i++)
    await client.callTool({ name: 'up__echo', arguments: { text: 'warm-up' } });
  callgrindControl('-z', gateway.pid!);
  for (let i = 0; i < calls; i++)
    await client.callTool({ name: 'up__echo', arguments: { text: `call ${i}` } });
  callgrindControl('-d', gateway.pid!);
  await client.close();
  const instructions = await until(() => dumpedInstructions(dir));
  console.log(
    JSON.stringify({
      gateway: values.gateway,
      node: process.version,
      calls,
      auth: values.auth,
      instructionsPerCall: Math.round(instructions / calls),
    }),
  );
} finally {
  gateway.kill('SIGKILL');
  await exited;
  upstream.http.close();
  rmSync(dir, { recursive: true, force: true });
}

function callgrindControl(command: '-z' | '-d', pid: number): void {
  execFileSync('callgrind_control', [command, String(pid)], { stdio: 'ignore' });
}

/** The instructions of the dump `callgrind_control -d` wrote (`callgrind.out.1`), once complete. */
function dumpedInstructions(folder: string): number | undefined {
  const dump = readdirSync(folder).find((name) => /^callgrind\.out\.\d+$/.test(name));
  if (!dump) return undefined;
  const total = /^totals:\s+(\d+)/m.exec(readFileSync(join(folder, dump), 'utf8'))?.[1];
  return total === undefined ? undefined : Number(total);
}

async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 300_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('bench/instructions: timed out (is valgrind installed?)');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
