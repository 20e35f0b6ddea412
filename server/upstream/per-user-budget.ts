/**
 * The cap over every per-user server's connections (issue 14, `systemConfig.perUser`): at most
 * `maxConnections` started over the whole gateway (the one idle longest makes room), and a sweep
 * that closes the ones idle for `idleMs`.
 */
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PerUserServer, PersonSlot } from './per-user.js';

/** The cap over every per-user server's started connections. */
export class PerUserBudget {
  readonly #servers = new Set<PerUserServer>();
  max: number;
  #idleMs = 15 * 60 * 1000;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(max: number) {
    this.max = max;
  }

  add(server: PerUserServer): void {
    this.#servers.add(server);
  }

  remove(server: PerUserServer): void {
    this.#servers.delete(server);
  }

  /**
   * Makes room for one more started connection: at the cap, the one idle longest is closed.
   * @throws GatehouseError PER_USER_LIMIT when every started connection is busy
   */
  async admit(): Promise<void> {
    let started = 0;
    let oldest: { server: PerUserServer; slot: PersonSlot } | undefined;
    for (const server of this.#servers) {
      for (const slot of server.slots()) {
        if (!slot.started) continue;
        started++;
        if (!closable(slot)) continue;
        if (!oldest || slot.lastUsed < oldest.slot.lastUsed) oldest = { server, slot };
      }
    }
    if (started < this.max) return;
    if (!oldest) throw new GatehouseError('PER_USER_LIMIT');
    await oldest.server.close(oldest.slot.person);
  }

  /**
   * Applies `systemConfig.perUser`: the cap now, and a sweep every quarter of `idleMs` (between
   * 100 ms and a minute) that closes the connections idle that long.
   */
  configure(config: { maxConnections: number; idleMs: number }, now: () => number, logger: Logger): void {
    this.max = config.maxConnections;
    if (this.#sweeper && config.idleMs === this.#idleMs) return;
    this.#idleMs = config.idleMs;
    clearInterval(this.#sweeper);
    this.#sweeper = setInterval(
      () => {
        this.sweep(now(), this.#idleMs).catch((error: unknown) =>
          logger.warn({ err: String(error) }, 'closing idle connections failed'),
        );
      },
      Math.min(Math.max(Math.floor(config.idleMs / 4), 100), 60_000),
    );
    this.#sweeper.unref();
  }

  /** Stops the sweep (the manager is closing). */
  stop(): void {
    clearInterval(this.#sweeper);
  }

  /** Closes every connection that had no call for `idleMs`. */
  async sweep(now: number, idleMs: number): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const server of this.#servers) {
      for (const slot of server.slots()) {
        if (closable(slot) && now - slot.lastUsed >= idleMs) closing.push(server.close(slot.person));
      }
    }
    await Promise.all(closing);
  }
}

/** A slot may close when no call uses it and no authorization of the person is waiting for its callback. */
function closable(slot: PersonSlot): boolean {
  return slot.inFlight === 0 && slot.oauth?.stage.kind !== 'awaiting_user';
}
