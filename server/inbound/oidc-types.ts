/**
 * The part of oidc-provider's API the authorization server uses, typed (oidc-provider ships no
 * types; server/demo/oidc-provider.d.ts declares only what the demo needs). The provider built in
 * provider.ts is viewed through `OidcProvider` once, where it is constructed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What `interactionDetails` tells about a pending sign-in or consent. */
export interface InteractionDetails {
  uid: string;
  prompt: {
    name: string;
    reasons: string[];
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  };
  params: Record<string, unknown>;
  session?: { accountId: string };
  grantId?: string;
}

export interface GrantModel {
  jti: string;
  accountId?: string;
  clientId?: string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

export interface AccessTokenModel {
  accountId: string;
  clientId: string;
  grantId: string;
  scope?: string;
  aud?: string | string[];
  /** Epoch seconds. */
  exp: number;
  isExpired: boolean;
}

export interface ClientModel {
  clientId: string;
  clientName?: string;
  redirectUris: string[];
  redirectUriAllowed(value: string): boolean;
}

export interface OidcProvider {
  proxy: boolean;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionResult(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<string>;
  Grant: {
    new (properties: { accountId: string; clientId: string }): GrantModel;
    find(id: string): Promise<GrantModel | undefined>;
  };
  AccessToken: { find(value: string): Promise<AccessTokenModel | undefined> };
  Client: {
    find(id: string): Promise<ClientModel | undefined>;
    prototype: { redirectUriAllowed(this: ClientModel, value: string): boolean };
  };
}
