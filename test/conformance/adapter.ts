/**
 * Gatehouse as a client of the official MCP conformance suite (`@modelcontextprotocol/conformance
 * client --command "node --import tsx test/conformance/adapter.ts"`).
 *
 * The suite starts a mock MCP server (and, for auth scenarios, a mock authorization server that
 * approves every request at once), then runs this with the server's URL as the last argument,
 * `MCP_CONFORMANCE_SCENARIO` and, for some scenarios, `MCP_CONFORMANCE_CONTEXT` (JSON). This starts
 * a real Gatehouse in-process on 127.0.0.1 with that URL as its only upstream, `target`, and drives
 * it the way a person and an MCP client would:
 *
 * 1. wait for the upstream to be `connected` or `auth_required` (`GET /api/servers`);
 * 2. when it needs authorization: `POST /api/servers/target/authorize` → `{ authorizationUrl }`,
 *    follow the authorization server's redirects by hand (`redirect: 'manual'`, loopback only)
 *    until one points at the gateway, open that callback URL on the gateway as the browser would,
 *    and wait for `connected` (authorizing again while the gateway asks for a step-up);
 * 3. connect an SDK client to the gateway's `/mcp`, list the tools, call the first `target__…`
 *    tool; a call refused for authorization (step-up) is authorized again, a bounded number of
 *    times, and retried.
 *
 * Exit 0 when the call succeeded (or the upstream has no tools), 1 with a message on stderr
 * otherwise. Everything stays on loopback: the adapter refuses to fetch any other host.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { buildApp, VERSION } from '../../server/app.js';
import { silentLogger } from '../../server/log.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { SettingsStore } from '../../server/settings/store.js';

/** The one upstream's name; its tools are exposed as `target__<tool>`. */
const SERVER = 'target';
const SEPARATOR = '__';
/**
 * The Client ID Metadata Document URL the `auth/basic-cimd` scenario expects as client_id
 * (conformance 0.1.16 hard-codes it and never fetches it; neither does the gateway).
 */
const CONFORMANCE_CIMD_URL = 'https://conformance-test.local/client-metadata.json';
/** Authorizations one run may complete (the first one plus step-ups). Above the gateway's own cap
 * of 3 on purpose: `auth/scope-retry-limit` checks the gateway's cap, not this one. */
const MAX_AUTHORIZATIONS = 5;
const MAX_REDIRECTS = 10;
const POLL_MS = 100;
/** The suite kills the client at its `--timeout`; stop before that, with a message. */
const DEADLINE_MS = Number(process.env.GATEHOUSE_CONFORMANCE_DEADLINE_MS ?? 45_000);

class AdapterError extends Error {}

/** The part of `GET /api/servers` this adapter reads. */
interface ServerStatusView {
  name: string;
  status: string;
  error?: { code: string; message: string };
  nextRetryAt?: number | null;
  tools?: unknown[];
  auth?: { stage?: unknown };
}

interface RunningGateway {
  base: URL;
  port: number;
  adminToken: string;
  close(): Promise<void>;
}

function log(message: string): void {
  process.stderr.write(`conformance-adapter: ${message}\n`);
}

/** What `MCP_CONFORMANCE_CONTEXT` carries; the suite always adds `name` (the scenario). */
type ScenarioContext = Record<string, unknown>;

function parseContext(text: string | undefined): ScenarioContext {
  if (!text) return {};
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdapterError('MCP_CONFORMANCE_CONTEXT is not a JSON object');
  }
  return value as ScenarioContext;
}

/**
 * The upstream's `oauth` settings for a scenario: a pre-registered client (`client_id`,
 * `client_secret`), scopes, and a CIMD URL. Anything else is left to the gateway to discover.
 */
function oauthSettingsFor(scenario: string, context: ScenarioContext): Record<string, unknown> | undefined {
  const oauth: Record<string, unknown> = {};
  const text = (key: string) =>
    typeof context[key] === 'string' && context[key] !== '' ? context[key] : undefined;
  const clientId = text('client_id') ?? text('clientId');
  const clientSecret = text('client_secret') ?? text('clientSecret');
  if (clientId) oauth.clientId = clientId;
  if (clientSecret) oauth.clientSecret = clientSecret;
  const scope = context.scopes ?? context.scope;
  if (typeof scope === 'string' && scope.trim()) oauth.scopes = scope.trim().split(/\s+/);
  if (Array.isArray(scope) && scope.every((s) => typeof s === 'string')) oauth.scopes = scope;
  const cimd =
    text('client_metadata_url') ??
    text('clientMetadataUrl') ??
    (scenario === 'auth/basic-cimd' ? CONFORMANCE_CIMD_URL : undefined);
  if (cimd) oauth.clientMetadataUrl = cimd;
  return Object.keys(oauth).length > 0 ? oauth : undefined;
}

/** A settings file with the one upstream, fast retries, and the gateway's public URL. */
function settingsDocument(
  upstreamUrl: string,
  baseUrl: string,
  oauth: Record<string, unknown> | undefined,
): object {
  return {
    mcpServers: {
      [SERVER]: { type: 'streamable-http', url: upstreamUrl, ...(oauth ? { oauth } : {}) },
    },
    systemConfig: {
      baseUrl,
      nameSeparator: SEPARATOR,
      timeouts: { connectMs: 10_000, requestMs: 15_000, initialBackoffMs: 200, maxBackoffMs: 1_000 },
    },
  };
}

/**
 * A free loopback port, found before the gateway starts so that `systemConfig.baseUrl` (and so the
 * OAuth redirect URI) names the port the gateway will listen on.
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function startGateway(
  upstreamUrl: string,
  oauth: Record<string, unknown> | undefined,
): Promise<RunningGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-conformance-'));
  const settingsPath = join(dir, 'mcp_settings.json');
  const adminToken = randomBytes(24).toString('base64url');
  // A port found free can be taken before we bind it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const base = new URL(`http://127.0.0.1:${port}`);
    await writeFile(settingsPath, JSON.stringify(settingsDocument(upstreamUrl, base.origin, oauth), null, 2));
    const secrets = new SecretBox({ key: randomBytes(32) });
    const store = new SettingsStore({ path: settingsPath, env: process.env, logger: silentLogger, secrets });
    await store.load();
    const { app } = await buildApp({
      store,
      adminToken,
      logger: { level: process.env.LOG_LEVEL ?? 'warn', stream: process.stderr },
    });
    try {
      await app.listen({ host: '127.0.0.1', port });
    } catch (error) {
      await app.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      throw error;
    }
    return {
      base,
      port,
      adminToken,
      close: async () => {
        await app.close();
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

function isLoopback(url: URL): boolean {
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** One admin API call; an error answer becomes an AdapterError with the gateway's code. */
async function api<T>(gateway: RunningGateway, method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await fetch(new URL(path, gateway.base), {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!response.ok) {
    // Gatehouse's error shape is { error: { code, message } }; anything else is shown as text.
    const error = (body as { error?: unknown } | undefined)?.error as
      { code?: unknown; message?: unknown } | undefined;
    const known = error !== null && typeof error === 'object' && typeof error.code === 'string';
    throw new AdapterError(
      `${method} ${path} answered ${response.status}: ` +
        (known ? `${String(error.code)} ${String(error.message ?? '')}`.trimEnd() : snippet(text)),
    );
  }
  return body as T;
}

async function targetStatus(gateway: RunningGateway): Promise<ServerStatusView | undefined> {
  const servers = await api<ServerStatusView[]>(gateway, 'GET', '/api/servers');
  return servers.find((s) => s.name === SERVER);
}

/** The auth stage's name, whether the API gives a string or a `{ stage | kind }` object. */
function stageOf(status: ServerStatusView | undefined): string | undefined {
  const stage = status?.auth?.stage;
  if (typeof stage === 'string') return stage;
  if (stage && typeof stage === 'object') {
    const named = (stage as { stage?: unknown; kind?: unknown }).stage ?? (stage as { kind?: unknown }).kind;
    return typeof named === 'string' ? named : undefined;
  }
  return undefined;
}

function describe(status: ServerStatusView | undefined): string {
  if (!status) return 'not listed';
  const stage = stageOf(status);
  const error = status.error ? ` ${status.error.code}: ${status.error.message}` : '';
  return `${status.status}${stage ? ` (auth stage ${stage})` : ''}${error}`;
}

/**
 * Polls the upstream until `done` holds. Fails at once when the gateway has given up (auth stage
 * `failed`, an OAuth error, an error with no retry planned), else after `timeoutMs`.
 */
async function waitForStatus(
  gateway: RunningGateway,
  done: (status: ServerStatusView) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ServerStatusView> {
  const deadline = Date.now() + timeoutMs;
  let last: ServerStatusView | undefined;
  for (;;) {
    last = await targetStatus(gateway);
    // A failed auth stage wins over an `auth_required` we would accept: the gateway gave up.
    if (last && stageOf(last) === 'failed') {
      throw new AdapterError(`${what}: authorization failed: ${describe(last)}`);
    }
    if (last && done(last)) return last;
    if (last?.status === 'disabled') throw new AdapterError(`${what}: the upstream is disabled`);
    if (last?.status === 'error' && (last.nextRetryAt == null || last.error?.code.startsWith('OAUTH_'))) {
      throw new AdapterError(`${what}: ${describe(last)}`);
    }
    if (Date.now() > deadline) throw new AdapterError(`${what}: timed out; last status ${describe(last)}`);
    await sleep(POLL_MS);
  }
}

/**
 * True when the upstream waits for a person to authorize. Right after an authorization the status
 * can still read `auth_required` while the stage is already `authorized` (the reconnect has not
 * happened yet): that is not a new request for authorization, a step-up (`awaiting_user`) is.
 */
function awaitsPerson(status: ServerStatusView, afterAuthorization: boolean): boolean {
  if (status.status !== 'auth_required') return false;
  const stage = stageOf(status);
  if (!afterAuthorization) return true;
  return stage === 'awaiting_user' || stage === 'unauthenticated';
}

/**
 * One authorization as a person would do it, with the suite's authorization server approving at
 * once: start the flow on the gateway, follow the redirects to the gateway's callback, open it.
 */
async function authorize(gateway: RunningGateway): Promise<void> {
  const { authorizationUrl } = await api<{ authorizationUrl?: unknown }>(
    gateway,
    'POST',
    `/api/servers/${SERVER}/authorize`,
  );
  if (typeof authorizationUrl !== 'string') {
    throw new AdapterError('POST /authorize answered without an authorizationUrl');
  }
  let url = new URL(authorizationUrl);
  for (let hop = 0; ; hop++) {
    if (!isLoopback(url)) throw new AdapterError(`refusing to follow a redirect off loopback: ${url.origin}`);
    if (url.port === String(gateway.port)) break; // back at the gateway: the callback
    if (hop >= MAX_REDIRECTS)
      throw new AdapterError(`more than ${MAX_REDIRECTS} redirects from ${authorizationUrl}`);
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    const location = response.headers.get('location');
    const body = await response.text();
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new AdapterError(
        `the authorization server answered ${response.status} at ${url.pathname}: ${snippet(body)}`,
      );
    }
    url = new URL(location, url);
  }
  log(`delivering the authorization response to ${url.origin}${url.pathname}`);
  const callback = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  const page = await callback.text();
  if (callback.status >= 400) {
    throw new AdapterError(`the gateway's callback answered ${callback.status}: ${snippet(page)}`);
  }
}

/** Connects an MCP client to the gateway's aggregated endpoint. */
async function connectClient(gateway: RunningGateway): Promise<Client> {
  const client = new Client(
    { name: 'gatehouse-conformance-adapter', version: VERSION },
    { capabilities: {} },
  );
  // The admin token is an all-access inbound key; the gateway must never pass it upstream (the
  // suite's mock server would record an invalid bearer token if it did).
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', gateway.base), {
    requestInit: { headers: { authorization: `Bearer ${gateway.adminToken}` } },
  });
  await client.connect(transport, { timeout: 15_000 });
  return client;
}

/** Arguments that satisfy a simple input schema: required properties get a plain value. */
function sampleArguments(schema: Tool['inputSchema']): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const args: Record<string, unknown> = {};
  required.forEach((name, index) => {
    const property = properties[name] ?? {};
    if ('default' in property) args[name] = property.default;
    else if (Array.isArray(property.enum) && property.enum.length > 0) args[name] = property.enum[0];
    else {
      const type = Array.isArray(property.type) ? property.type[0] : property.type;
      args[name] = sampleOf(type, index);
    }
  });
  return args;
}

function sampleOf(type: unknown, index: number): unknown {
  switch (type) {
    case 'number':
    case 'integer':
      return index + 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'null':
      return null;
    default:
      return 'conformance';
  }
}

/** The Gatehouse error code an MCP error carries in `data.code`, if any. */
function gatehouseCode(error: unknown): string | undefined {
  if (!(error instanceof McpError)) return undefined;
  const data = error.data as { code?: unknown } | undefined;
  return typeof data?.code === 'string' ? data.code : undefined;
}

const NEEDS_AUTHORIZATION = new Set(['UPSTREAM_AUTH_REQUIRED', 'OAUTH_INSUFFICIENT_SCOPE']);

async function run(upstreamUrl: string, scenario: string, context: ScenarioContext): Promise<void> {
  const oauth = oauthSettingsFor(scenario, context);
  log(
    `scenario ${scenario || '(none)'}: upstream ${upstreamUrl}${oauth ? `, oauth ${Object.keys(oauth).join(', ')}` : ''}`,
  );
  const gateway = await startGateway(upstreamUrl, oauth);
  let client: Client | undefined;
  let authorizations = 0;
  const authorizeOnce = async (why: string) => {
    if (authorizations >= MAX_AUTHORIZATIONS) {
      throw new AdapterError(`${why}, but ${MAX_AUTHORIZATIONS} authorizations were already completed`);
    }
    authorizations++;
    log(`authorization ${authorizations}: ${why}`);
    await authorize(gateway);
  };
  /** Authorizes as often as the gateway asks (a step-up can follow at once) until `connected`. */
  const ensureConnected = async (afterAuthorization: boolean) => {
    for (let after = afterAuthorization; ; after = true) {
      const status = await waitForStatus(
        gateway,
        (s) => s.status === 'connected' || awaitsPerson(s, after),
        after ? 15_000 : 20_000,
        after ? `after authorization ${authorizations}` : 'waiting for the upstream',
      );
      if (status.status === 'connected') return;
      await authorizeOnce(`the upstream needs authorization (${describe(status)})`);
    }
  };

  try {
    await ensureConnected(false);
    log(`upstream connected (${describe(await targetStatus(gateway))})`);

    client = await connectClient(gateway);
    const { tools } = await client.listTools();
    const own = tools.filter((t) => t.name.startsWith(`${SERVER}${SEPARATOR}`));
    log(`tools through /mcp: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
    const tool = own[0];
    if (!tool) {
      const status = await targetStatus(gateway);
      if ((status?.tools?.length ?? 0) > 0) {
        throw new AdapterError(
          `the upstream has ${status?.tools?.length} tools but /mcp lists none of ${SERVER}'s`,
        );
      }
      log('the upstream offers no tools; nothing to call');
      return;
    }

    const args = sampleArguments(tool.inputSchema);
    for (;;) {
      try {
        const result = (await client.callTool({ name: tool.name, arguments: args }, undefined, {
          timeout: 20_000,
        })) as CallToolResult;
        const text = result.content
          .map((c) => (c.type === 'text' ? c.text : `[${c.type}]`))
          .join(' ')
          .slice(0, 200);
        if (result.isError) throw new AdapterError(`${tool.name} returned an error result: ${text}`);
        log(`called ${tool.name}(${JSON.stringify(args)}): ${text}`);
        return;
      } catch (error) {
        const code = gatehouseCode(error);
        const status = await targetStatus(gateway);
        const message = error instanceof Error ? error.message : String(error);
        if ((code && NEEDS_AUTHORIZATION.has(code)) || status?.status === 'auth_required') {
          await authorizeOnce(
            `calling ${tool.name} needs authorization (${code ?? describe(status)}: ${message})`,
          );
          await ensureConnected(true);
          continue;
        }
        if (error instanceof AdapterError) throw error;
        throw new AdapterError(`calling ${tool.name} failed: ${code ? `${code}: ` : ''}${message}`);
      }
    }
  } catch (error) {
    await reportState(gateway);
    throw error;
  } finally {
    await client?.close().catch(() => undefined);
    await gateway.close().catch((error: unknown) => log(`closing the gateway failed: ${String(error)}`));
  }
}

/** On failure: the upstream's status and auth event log as the admin API shows them (no secrets). */
async function reportState(gateway: RunningGateway): Promise<void> {
  try {
    const detail = await api<ServerStatusView & { auth?: { log?: unknown[] } }>(
      gateway,
      'GET',
      `/api/servers/${SERVER}`,
    );
    log(`state at failure: ${describe(detail)}`);
    for (const entry of detail.auth?.log ?? []) log(`  auth log: ${JSON.stringify(entry)}`);
  } catch (error) {
    log(`state at failure unavailable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function snippet(text: string): string {
  const plain = text
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 300 ? `${plain.slice(0, 300)}…` : plain || '(empty body)';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<number> {
  const upstreamUrl = process.argv.at(-1);
  if (process.argv.length < 3 || !upstreamUrl || !URL.canParse(upstreamUrl)) {
    log('usage: node --import tsx test/conformance/adapter.ts <server-url>');
    return 2;
  }
  if (!isLoopback(new URL(upstreamUrl))) {
    log(`refusing a server off loopback: ${upstreamUrl}`);
    return 2;
  }
  const deadline = setTimeout(() => {
    log(`gave up after ${DEADLINE_MS} ms (GATEHOUSE_CONFORMANCE_DEADLINE_MS)`);
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  try {
    const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
    await run(upstreamUrl, scenario, parseContext(process.env.MCP_CONFORMANCE_CONTEXT));
    return 0;
  } catch (error) {
    log(
      error instanceof AdapterError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error),
    );
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(String(error));
    process.exit(1);
  },
);
