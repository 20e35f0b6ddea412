import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../errors.js';
import { OrderedDelivery } from './ordered-delivery.js';
import { BoundedLog } from './bounded-log.js';

export interface StdioTransportOptions {
  command: string;
  args: string[];
  /** The child's whole environment: nothing else is inherited. */
  env: Record<string, string>;
  cwd: string;
  stderr: BoundedLog;
  /** How long to wait after closing stdin, and again after SIGTERM, before the next step. */
  graceMs?: number;
}

/**
 * An MCP client transport over a child process's stdin/stdout.
 *
 * The SDK's StdioClientTransport always merges a default environment (LOGNAME, SHELL, TERM, USER)
 * into the child's and kills only the direct child. Gatehouse promises an upstream exactly the
 * variables its entry names plus PATH and HOME, and no orphans when a launcher such as `npx` runs
 * the real server as a grandchild: the child gets a process group of its own and the whole group
 * is signalled on close. Framing reuses the SDK's ReadBuffer and serializeMessage.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Notifications before what follows them in one read (see ordered-delivery.ts). */
  readonly #delivery = new OrderedDelivery((message) => this.onmessage?.(message));

  readonly #options: StdioTransportOptions;
  readonly #readBuffer = new ReadBuffer();
  #child: ChildProcess | undefined;
  #closed = false;

  constructor(options: StdioTransportOptions) {
    this.#options = options;
  }

  /** The child's pid while it runs; for tests and the status API. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    if (this.#child) throw new GatehouseError('INTERNAL', 'StdioTransport already started');
    const { command, args, env, cwd } = this.#options;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        env,
        cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        // A process group of its own, so close() reaches grandchildren too.
        detached: true,
      });
      this.#child = child;
      child.once('error', (error) => {
        const wrapped = new GatehouseError(
          'UPSTREAM_SPAWN_FAILED',
          `cannot start "${command}": ${error.message}`,
          {
            cause: error,
          },
        );
        reject(wrapped);
        this.onerror?.(wrapped);
        this.#finish();
      });
      child.once('spawn', () => resolve());
      child.once('close', () => this.#finish());
      child.stdout?.on('data', (chunk: Buffer) => {
        this.#readBuffer.append(chunk);
        this.#drain();
      });
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stderr?.on('data', (chunk: Buffer) => this.#options.stderr.append(chunk.toString('utf8')));
    });
  }

  #drain(): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.#readBuffer.readMessage();
      } catch (error) {
        // A line that is not JSON-RPC: report it and keep reading the next one.
        this.onerror?.(
          new GatehouseError('UPSTREAM_PROTOCOL_ERROR', 'the server wrote a line that is not JSON-RPC', {
            cause: error,
          }),
        );
        continue;
      }
      if (message === null) return;
      this.#delivery.push(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin || this.#closed) return Promise.reject(new GatehouseError('UPSTREAM_CLOSED'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#finish();
      return;
    }
    const grace = this.#options.graceMs ?? 1_000;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const waitExit = (ms: number) =>
      Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
      ]);
    child.stdin?.end();
    if (await waitExit(grace)) return;
    signalGroup(child, 'SIGTERM');
    if (await waitExit(grace)) return;
    signalGroup(child, 'SIGKILL');
    await waitExit(grace);
  }

  /** Synchronous last resort for process exit: SIGKILL the child's whole group. */
  killNow(): void {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) signalGroup(child, 'SIGKILL');
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#readBuffer.clear();
    // The group may still hold grandchildren after the direct child exits.
    if (this.#child) signalGroup(this.#child, 'SIGTERM');
    this.onclose?.();
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
