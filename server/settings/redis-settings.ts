/**
 * The settings document in Redis, shared by several replicas (issue 15; README "Several replicas
 * on Redis"). Layout: hash `<prefix>:settings` { text: the document's JSON text as the file would
 * hold it, version: an integer }. Every accepted write bumps the version and publishes it on
 * `<prefix>:settings-changes` in one Lua script, compare-and-set on the version read, so two
 * replicas' edits never lose one another: the loser reads again and re-applies its edit.
 *
 * The file is the import format: when Redis has no document the file's text becomes version 1
 * (HSETNX in a script, so replicas starting together import once); otherwise Redis's document is
 * live and the file is only read for `systemConfig.store`. Nothing here writes the file.
 *
 * Pub/sub messages sent while a connection is down are lost, so a reconnect is reported as a
 * change too: the store reads the document again and applies what it missed. A document Redis
 * lost (restarted without persistence) is written back from this replica's last one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { redisClientOptions, storeCall } from './redis-state.js';
import type { SettingsSource, SourceWrite } from './settings-source.js';

type Client = ReturnType<typeof createClient>;

export interface RedisSettingsSourceOptions {
  url: string;
  prefix: string;
  /** The settings file's text: imported when Redis holds no document yet. */
  fileText: string;
  /** The settings file's path, for logs. */
  file: string;
  logger: () => Logger;
}

/** A version of the document. */
interface Doc {
  text: string;
  version: string;
}

/**
 * Stores ARGV (text, version) when the hash holds no document; returns [imported, text, version].
 * A version missing beside a text (a hand-made key) reads as 0.
 */
const IMPORT = `if redis.call('hsetnx', KEYS[1], 'text', ARGV[1]) == 1 then
  redis.call('hset', KEYS[1], 'version', ARGV[2])
  return {1, ARGV[1], ARGV[2]}
end
local doc = redis.call('hmget', KEYS[1], 'text', 'version')
return {0, doc[1], doc[2] or '0'}`;

/**
 * Compare-and-set (KEYS: the hash, the channel; ARGV: the version read, the new text): stores the
 * text as the next version and announces it, or returns -1 when the version moved meanwhile.
 */
const WRITE = `if redis.call('hexists', KEYS[1], 'text') == 0 then return -1 end
local v = redis.call('hget', KEYS[1], 'version') or '0'
if v ~= ARGV[1] then return -1 end
local n = tonumber(v) + 1
redis.call('hset', KEYS[1], 'text', ARGV[2], 'version', n)
redis.call('publish', KEYS[2], n)
return n`;

// Lost races retry after a random pause growing up to 100 ms (as the file writer does); fifty in
// a row means something is wrong.
const MAX_ATTEMPTS = 50;
const MAX_PAUSE_MS = 100;

export class RedisSettingsSource implements SettingsSource {
  readonly name: string;
  readonly partialSaves = false;
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #logger: () => Logger;
  readonly #channel: string;
  /** The newest document this replica read or wrote: written back if Redis lost its copy. */
  #last: Doc;
  #onChange: (() => void) | undefined;

  private constructor(options: RedisSettingsSourceOptions, client: Client, subscriber: Client) {
    this.name = `${options.prefix}:settings`;
    this.#channel = `${options.prefix}:settings-changes`;
    this.#client = client;
    this.#subscriber = subscriber;
    this.#logger = options.logger;
    this.#last = { text: options.fileText, version: '1' };
  }

  /**
   * Connects, and imports the file's text when Redis holds no document yet.
   * @throws GatehouseError STORE_UNAVAILABLE when Redis cannot be reached now
   */
  static async open(options: RedisSettingsSourceOptions): Promise<RedisSettingsSource> {
    const client = createClient(redisClientOptions(options.url));
    const subscriber = client.duplicate();
    const source = new RedisSettingsSource(options, client, subscriber);
    let lastError = '';
    for (const c of [client, subscriber]) {
      c.on('error', (error: unknown) => {
        // The client reconnects by itself; say so once per kind of failure, not per attempt.
        const text = String(error);
        if (text !== lastError)
          options.logger().warn({ err: text }, 'settings store (Redis) connection problem');
        lastError = text;
      });
    }
    try {
      await storeCall('be reached', async () => {
        await client.connect();
        await subscriber.connect();
      });
      const { doc, imported } = await source.#sync();
      const log = options.logger();
      if (imported) {
        log.info(
          { key: source.name, file: options.file },
          'Settings imported from the file into Redis (version 1)',
        );
      } else {
        log.info(
          { key: source.name, version: doc.version, file: options.file },
          'Settings are read from Redis; the file was read only for systemConfig.store',
        );
        if (doc.text !== options.fileText) {
          log.info(
            { key: source.name, file: options.file },
            'The settings file differs from the document in Redis, which is live (README: Several replicas on Redis)',
          );
        }
      }
    } catch (error) {
      await source.close();
      throw error;
    }
    // Reported only once watching: a reconnect of either connection may have missed a version.
    for (const c of [client, subscriber]) {
      c.on('ready', () => {
        lastError = '';
        source.#onChange?.();
      });
    }
    return source;
  }

  async read(): Promise<string> {
    return (await this.#sync()).doc.text;
  }

  readChanged(): Promise<string> {
    return this.read();
  }

  async update(transform: (current: string) => Promise<string | undefined>): Promise<SourceWrite> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { doc } = await this.#sync();
      const next = await transform(doc.text);
      if (next === undefined) return { text: doc.text, written: false };
      const version = await storeCall('save the settings', () =>
        this.#client.eval(WRITE, { keys: [this.name, this.#channel], arguments: [doc.version, next] }),
      );
      if (typeof version === 'number' && version > 0) {
        this.#last = { text: next, version: String(version) };
        return { text: next, written: true };
      }
      this.#logger().debug(
        { key: this.name, reason: 'version-moved' },
        'Settings changed meanwhile; retrying',
      );
      await sleep(Math.random() * Math.min(MAX_PAUSE_MS, 2 ** attempt));
    }
    throw new GatehouseError(
      'SETTINGS_WRITE_FAILED',
      `${this.name} kept changing while the gateway was writing it`,
      {
        details: { file: this.name },
      },
    );
  }

  async watch(onChange: () => void): Promise<void> {
    if (this.#onChange !== undefined) return;
    this.#onChange = onChange;
    await storeCall('subscribe to settings changes', () =>
      this.#subscriber.subscribe(this.#channel, (version) => {
        // Its own writes are known already; anything else is read (the store compares texts).
        if (version !== this.#last.version) onChange();
      }),
    );
  }

  async close(): Promise<void> {
    this.#onChange = undefined;
    for (const c of [this.#subscriber, this.#client]) {
      if (c.isOpen) await c.close().catch(() => c.destroy());
      else c.destroy();
    }
  }

  /** Reads the document; writes this replica's last one back first when Redis holds none. */
  async #sync(): Promise<{ doc: Doc; imported: boolean }> {
    const seed = this.#last;
    const reply = await storeCall('read the settings', () =>
      this.#client.eval(IMPORT, { keys: [this.name], arguments: [seed.text, seed.version] }),
    );
    if (!Array.isArray(reply) || reply.length !== 3) {
      throw new GatehouseError('INTERNAL', `Unexpected answer from Redis reading ${this.name}`);
    }
    const doc: Doc = { text: String(reply[1]), version: String(reply[2]) };
    const imported = reply[0] === 1;
    if (imported && this.#onChange !== undefined) {
      this.#logger().warn(
        { key: this.name, version: doc.version },
        'Redis held no settings document (restarted without persistence, or the key was deleted); this replica wrote its live one back',
      );
    }
    this.#last = doc;
    return { doc, imported };
  }
}
