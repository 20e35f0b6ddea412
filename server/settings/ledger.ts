/**
 * What the gateway wrote into gateway-owned fields during this process. An editor that read the
 * file before a gateway write and saves after it drops that write (a stale save); the store
 * replays this ledger onto every document it writes or accepts, so the newest credentials win.
 */
import { credentialBlob, scrubPlaintextTokens, serverEntry, setCredentialBlob } from './gateway-fields.js';

type Raw = Record<string, unknown>;

/** The gateway-owned values written in this process, to replay onto a stale save. */
export class GatewayFieldLedger {
  /** server → owner → encrypted blob, or undefined for a removed credential. */
  readonly #credentials = new Map<string, Map<string, string | undefined>>();
  /** Servers whose imported plaintext tokens were removed. */
  readonly #scrubbed = new Set<string>();

  /** Records a credential written (`blob`) or removed (`undefined`). */
  recordCredential(server: string, owner: string, blob: string | undefined): void {
    let owners = this.#credentials.get(server);
    if (owners === undefined) {
      owners = new Map();
      this.#credentials.set(server, owners);
    }
    owners.set(owner, blob);
  }

  /** Records that a server's plaintext tokens were removed. */
  recordScrub(server: string): void {
    this.#scrubbed.add(server);
  }

  /** The recorded credential: `known` is false when this process never wrote (server, owner). */
  lookup(server: string, owner: string): { known: boolean; blob: string | undefined } {
    const owners = this.#credentials.get(server);
    return { known: owners?.has(owner) ?? false, blob: owners?.get(owner) };
  }

  /** Forgets servers that are no longer in the settings (a person removed them). */
  forgetAllBut(servers: { has(name: string): boolean }): void {
    for (const server of this.#credentials.keys()) if (!servers.has(server)) this.#credentials.delete(server);
    for (const server of this.#scrubbed) if (!servers.has(server)) this.#scrubbed.delete(server);
  }

  /** Replays the ledger onto a raw document. Returns true when the document changed. */
  replay(raw: Raw): boolean {
    let changed = false;
    for (const [server, owners] of this.#credentials) {
      const entry = serverEntry(raw, server);
      if (entry === undefined) continue;
      for (const [owner, blob] of owners) changed = setCredentialBlob(entry, owner, blob) || changed;
    }
    for (const server of this.#scrubbed) {
      const entry = serverEntry(raw, server);
      if (entry !== undefined) changed = scrubPlaintextTokens(entry) || changed;
    }
    return changed;
  }

  /** True when replaying would change `raw` (which is not modified). */
  differs(raw: Raw): boolean {
    return this.replay(structuredClone(raw));
  }

  /** The credential of (server, owner): recorded, else as `raw` holds it. */
  credentialIn(raw: Raw | undefined, server: string, owner: string): string | undefined {
    const { known, blob } = this.lookup(server, owner);
    if (known) return blob;
    return raw === undefined ? undefined : credentialBlob(raw, server, owner);
  }
}
