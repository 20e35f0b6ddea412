// oidc-provider ships no TypeScript types; this declares the small part Gatehouse uses (the demo
// authorization server in server/demo and the test fixtures).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type Configuration = Record<string, unknown>;

  /** What oidc-provider stores for one model instance (a client, grant, session, token…). */
  export interface AdapterPayload {
    [claim: string]: unknown;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
  }

  /** The storage interface behind every model; one instance per model name. */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  interface Destroyable {
    destroy(): Promise<void>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    readonly Grant: { find(id: string): Promise<Destroyable | undefined> };
    readonly InitialAccessToken: new (properties?: Record<string, unknown>) => { save(): Promise<string> };
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };

  export default Provider;
}
