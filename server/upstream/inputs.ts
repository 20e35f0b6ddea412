/**
 * Credentials a person types in (VS Code's `mcp.json` `inputs`): where their values are stored and
 * how a server's config gets them when it connects. The settings keep `${input:<id>}` as written;
 * only the transport of one connection attempt sees the values (in that server's `url`, `headers`
 * and child `env`), and they are never logged or shown.
 *
 * Storage: one record per server (and, for a per-user server, per person) in a CredentialStore,
 * beside the OAuth record, encrypted like it: key `{ server, owner: 'gateway:inputs' }` for the
 * shared values, `{ server, owner: 'inputs:<person>' }` for a person's own; value
 * `{ v: 1, values: { <id>: <value> } }`. With the default stores the shared record is
 * `mcpServers.<server>.gatehouse.credentials["gateway:inputs"]` in the settings file, a person's a
 * record of `.gatehouse-state.json` (settings/state-credentials.ts).
 */
import { GatehouseError } from '../errors.js';
import {
  GATEWAY_OWNER,
  personOwner,
  type CredentialKey,
  type CredentialStore,
} from '../settings/credentials.js';
import { inputIdsIn, replaceInputs } from '../settings/input-refs.js';
import type { ServerConfig } from '../settings/types.js';

/** The credential key of a server's typed-in values: the shared ones, or `person`'s own. */
export function inputsKey(server: string, person?: string): CredentialKey {
  return { server, owner: person === undefined ? `${GATEWAY_OWNER}:inputs` : personOwner(person, 'inputs') };
}

/** A server's typed-in values, by input id. */
export type InputValues = Readonly<Record<string, string>>;

/** The ids a config references where values are filled in (`url`, `headers`, `env`), each once. */
export function referencedInputs(config: ServerConfig): string[] {
  const texts =
    config.type === 'stdio' ? Object.values(config.env) : [config.url, ...Object.values(config.headers)];
  return [...new Set(texts.flatMap(inputIdsIn))];
}

/** True when the URL itself carries a typed-in value (then no OAuth engine is made for it). */
export function urlTakesInputs(config: ServerConfig): boolean {
  return config.type !== 'stdio' && inputIdsIn(config.url).length > 0;
}

/**
 * The config with every `${input:<id>}` in `url`, `headers` values and `env` values replaced by its
 * value, or the ids that have none (in order of first use). Pure.
 */
export function resolveInputs(
  config: ServerConfig,
  values: InputValues,
): { config: ServerConfig; missing?: undefined } | { config?: undefined; missing: string[] } {
  const missing = new Set<string>();
  const fill = (map: Record<string, string>) =>
    Object.fromEntries(Object.entries(map).map(([key, text]) => [key, replaceInputs(text, values, missing)]));
  const resolved: ServerConfig =
    config.type === 'stdio'
      ? { ...config, env: fill(config.env) }
      : { ...config, url: replaceInputs(config.url, values, missing), headers: fill(config.headers) };
  return missing.size > 0 ? { missing: [...missing] } : { config: resolved };
}

/** The error of a server that waits for a person to type in `missing`. */
export function credentialsRequired(server: string, missing: readonly string[]): GatehouseError {
  return new GatehouseError(
    'UPSTREAM_CREDENTIALS_REQUIRED',
    `server "${server}" needs credentials a person types in (${missing.join(', ')}); set them in the Gatehouse dashboard`,
    { details: { server, missing: [...missing] } },
  );
}

/**
 * Reads a server's stored values. A record that is not ours reads as none (the person types them
 * in again); one that does not decrypt throws, as for OAuth records.
 * @throws GatehouseError SECRETS_DECRYPT_FAILED
 */
export async function readInputValues(
  store: CredentialStore,
  server: string,
  person?: string,
): Promise<InputValues> {
  return valuesOf(await store.get(inputsKey(server, person)));
}

/**
 * Sets (a string) or forgets (`null`) some of a server's values (`person`'s own on a per-user
 * server), keeping the others, under the store's lock. Returns the values now stored.
 */
export function updateInputValues(
  store: CredentialStore,
  server: string,
  changes: Readonly<Record<string, string | null>>,
  person?: string,
): Promise<InputValues> {
  const key = inputsKey(server, person);
  return store.withLock(key, async () => {
    let current: InputValues = {};
    try {
      current = valuesOf(await store.get(key));
    } catch (error) {
      // A record that no longer decrypts is replaced: the person is typing the values in again.
      if (!(error instanceof GatehouseError && error.code === 'SECRETS_DECRYPT_FAILED')) throw error;
    }
    const next: Record<string, string> = { ...current };
    for (const [id, value] of Object.entries(changes)) {
      if (value === null) delete next[id];
      else next[id] = value;
    }
    if (Object.keys(next).length === 0) await store.delete(key);
    else await store.put(key, { v: 1, values: next });
    return next;
  });
}

function valuesOf(record: Record<string, unknown> | undefined): InputValues {
  const values = record?.v === 1 ? record.values : undefined;
  if (typeof values !== 'object' || values === null) return {};
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
