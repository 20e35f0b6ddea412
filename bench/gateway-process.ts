/**
 * The gateway as users run it: `node <npm start's flags> dist/server/main.js --config <file> --port 0` in a child
 * process, over a settings file in a fresh temp folder. The admin token and secret key come from
 * the environment, so the gateway writes nothing beside the settings but the settings themselves.
 * The log level is the default (info), as users run it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { rssBytes } from './proc.js';

export const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'server', 'main.js');
const ADMIN_TOKEN = `bench-${randomBytes(12).toString('hex')}`;

/** The node flags `npm start` runs the gateway with (package.json), so the bench runs it the same way. */
export const NODE_FLAGS: string[] = (() => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  // `exec node <flags> dist/server/main.js` (exec: so that signals reach the gateway itself).
  const flags = /^(?:exec\s+)?node\s+(.*?)\s*dist\/server\/main\.js/.exec(scripts.start ?? '')?.[1];
  if (!flags) throw new Error('bench: cannot read the node flags of `npm start` in package.json');
  return flags.split(/\s+/);
})();

export interface GatewayOptions {
  servers: Record<string, object>;
  systemConfig?: object;
  /** Write a V8 CPU profile of the gateway into this folder when it exits. */
  profileDir?: string;
  /** The gateway's entry point; default this checkout's dist/server/main.js. */
  main?: string;
  /** The secret key (hex); replicas sharing a store need the same one. Default: a fresh one. */
  secretKey?: string;
}

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>` */
  base: string;
  pid: number;
  /** performance.now() just before spawn, and when the banner was complete. */
  launchedAt: number;
  listeningAt: number;
  api<T>(path: string, init?: RequestInit): Promise<T>;
  /** VmRSS of the gateway process, in bytes. */
  rss(): Promise<number>;
  stderr(): string;
  stop(): Promise<void>;
}

interface UpstreamStatus {
  name: string;
  status: string;
  tools: unknown[];
}

export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const config = join(dir, 'mcp_settings.json');
  const settings = {
    mcpServers: options.servers,
    ...(options.systemConfig ? { systemConfig: options.systemConfig } : {}),
  };
  await writeFile(config, JSON.stringify(settings, null, 2));
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const launchedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, ...profile, options.main ?? MAIN, '--config', config, '--port', '0'],
    {
      cwd: dir,
      env: {
        ...process.env,
        GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN,
        GATEHOUSE_SECRET_KEY: options.secretKey ?? randomBytes(32).toString('hex'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const base = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /listening on (http:\/\/[^\s]+)[\s\S]*Dashboard:.*\n/.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`the gateway exited before listening:\n${err}`)));
  });
  const listeningAt = performance.now();

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(init.headers as Record<string, string> | undefined),
      },
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok)
      throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };

  return {
    base,
    pid: child.pid!,
    launchedAt,
    listeningAt,
    api,
    rss: () => rssBytes(child.pid!),
    stderr: () => err,
    stop: async () => {
      // SIGTERM: a clean shutdown, so that --cpu-prof writes its profile.
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Settings entries for HTTP upstreams named s000, s001, … */
export function httpServers(urls: readonly string[]): Record<string, object> {
  return Object.fromEntries(urls.map((url, i) => [serverName(i), { type: 'streamable-http', url }]));
}

export function serverName(i: number): string {
  return `s${String(i).padStart(3, '0')}`;
}

/** Polls the admin API until every upstream is connected; throws after `timeoutMs`. */
export async function waitConnected(
  gateway: GatewayProcess,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: UpstreamStatus[] = [];
  while (Date.now() < deadline) {
    last = await gateway.api<UpstreamStatus[]>('/api/servers');
    if (last.length === count && last.every((s) => s.status === 'connected')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stuck = last.filter((s) => s.status !== 'connected').map((s) => `${s.name}=${s.status}`);
  throw new Error(`upstreams not connected after ${timeoutMs} ms: ${stuck.slice(0, 5).join(', ')}`);
}
