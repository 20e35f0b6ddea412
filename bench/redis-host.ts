/**
 * Debian's redis-server for the scale-out scenario: a child process on a Unix socket in a fresh
 * temp folder, without persistence (the bench measures the calls, not the disk).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisHost {
  /** `unix://…` for systemConfig.store.url. */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Resolves once the socket answers PING. */
async function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = connect(socket);
    conn.once('error', () => resolve(false));
    conn.once('connect', () => conn.write('PING\r\n'));
    conn.once('data', (data) => {
      conn.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

export async function startRedisHost(): Promise<RedisHost> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-redis-'));
  const socket = join(dir, 'redis.sock');
  const child = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server did not start: ${error.message}`)));
    void exited.then(() => reject(new Error('redis-server exited at start (is it installed?)')));
  });
  const deadline = Date.now() + 10_000;
  const ready = (async () => {
    while (!(await answers(socket))) {
      if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await Promise.race([ready, failed]);
  return {
    url: `unix://${socket}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
