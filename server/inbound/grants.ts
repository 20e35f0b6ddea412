/**
 * The clients people authorized at Gatehouse's authorization server, as the admin sees them:
 * one entry per grant (a client authorized by a person), never a token. Read from the state store,
 * so the list works whether or not the provider has been built yet.
 */
import { GatehouseError } from '../errors.js';
import type { StateStore } from '../settings/state-store.js';
import { collectionOf, recordId, revokeGrantRecords } from './adapter.js';

/** What `GET /api/clients` lists for one grant. */
export interface ClientGrantView {
  grantId: string;
  clientId: string;
  clientName?: string;
  /** The host of the redirect URI the person consented for. */
  redirectHost?: string;
  subject: string;
  scopes: string[];
  /** ISO 8601. */
  createdAt: string;
  expiresAt?: string;
}

/** Gatehouse's own record beside each grant: what the consent page showed. */
const CONSENT_COLLECTION = 'oidc:ConsentInfo';

export class ClientGrants {
  readonly #state: StateStore;

  constructor(state: StateStore) {
    this.#state = state;
  }

  /** Remembers the client's name and redirect host shown at consent (kept as long as the grant). */
  async recordConsent(grantId: string, info: { clientName?: string; redirectHost: string }): Promise<void> {
    const grant = (await this.#state.list(collectionOf('Grant'))).find((e) => e.id === recordId(grantId));
    await this.#state.put(
      CONSENT_COLLECTION,
      recordId(grantId),
      { ...info },
      { expiresAt: grant?.expiresAt },
    );
  }

  /** Every live grant (or only those of the person `subject`), newest first. */
  async list(subject?: string): Promise<ClientGrantView[]> {
    const grants = await this.#state.list(collectionOf('Grant'));
    const views: ClientGrantView[] = [];
    for (const { value } of grants) {
      const grantId = typeof value.jti === 'string' ? value.jti : undefined;
      const clientId = typeof value.clientId === 'string' ? value.clientId : undefined;
      if (!grantId || !clientId) continue;
      if (subject !== undefined && value.accountId !== subject) continue;
      const consent = await this.#state.get(CONSENT_COLLECTION, recordId(grantId));
      const registered = await this.#state.get(collectionOf('Client'), recordId(clientId));
      const clientName = stringOr(consent?.clientName) ?? stringOr(registered?.client_name);
      const view: ClientGrantView = {
        grantId,
        clientId,
        subject: stringOr(value.accountId) ?? '',
        scopes: grantScopes(value),
        createdAt: new Date(numberOr(value.iat) * 1000).toISOString(),
      };
      if (clientName) view.clientName = clientName;
      const redirectHost = stringOr(consent?.redirectHost);
      if (redirectHost) view.redirectHost = redirectHost;
      if (typeof value.exp === 'number') view.expiresAt = new Date(value.exp * 1000).toISOString();
      views.push(view);
    }
    return views.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Withdraws a grant with every token and code issued under it. The store's change feed tells the
   * token verifier, so the client's access token stops working at once. With `subject`, only a grant
   * of that person: another's is "not found", so a person learns nothing of others' grants.
   * @throws GatehouseError INBOUND_GRANT_NOT_FOUND
   */
  async revoke(grantId: string, subject?: string): Promise<void> {
    const grant = await this.#state.get(collectionOf('Grant'), recordId(grantId));
    if (!grant || (subject !== undefined && grant.accountId !== subject)) {
      throw new GatehouseError('INBOUND_GRANT_NOT_FOUND');
    }
    await revokeGrantRecords(this.#state, grantId);
    await this.#state.delete(CONSENT_COLLECTION, recordId(grantId));
  }
}

/** The scopes a grant holds: its OIDC scopes and every resource's scopes, once each. */
function grantScopes(value: Record<string, unknown>): string[] {
  const scopes = new Set<string>();
  const add = (scope: unknown) => {
    if (typeof scope === 'string') for (const s of scope.split(' ')) if (s) scopes.add(s);
  };
  const openid = value.openid;
  if (openid && typeof openid === 'object') add((openid as { scope?: unknown }).scope);
  const resources = value.resources;
  if (resources && typeof resources === 'object') for (const scope of Object.values(resources)) add(scope);
  return [...scopes].sort();
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numberOr(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
