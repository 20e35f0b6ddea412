#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The gatehouse command: parse flags, check the address, load the settings, build the app, listen,
 * shut down cleanly. The only module that reads process.env and writes to the console.
 *
 * Order matters: everything that can refuse to start (flags, a missing --config file, a busy port,
 * a public host without inbound authentication) is checked before anything is written (token and
 * key files, a starter settings file) or started (stdio upstreams).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { applyEdits, modify, parse as parseJsonc } from 'jsonc-parser';
import { buildApp, VERSION } from './app.js';
import { isGatehouseError, type ErrorCode, type GatehouseError } from './errors.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './log.js';
import { resolveAdminToken } from './security/admin-token.js';
import { isLoopback } from './security/inbound.js';
import { SecretBox } from './settings/secrets.js';
import { SettingsStore } from './settings/store.js';

const USAGE = `Usage: gatehouse [--config PATH] [--port N] [--host H]

  --config PATH  settings file (env GATEHOUSE_CONFIG; default ./mcp_settings.json, created with
                 the demo servers when it does not exist)
  --port N       port to listen on (env PORT; default 3000)
  --host H       address to bind (env HOST; default 127.0.0.1)
  --help         show this help
  --version      print the version

Environment: GATEHOUSE_ADMIN_TOKEN (admin token; else generated and kept beside the settings file),
GATEHOUSE_SECRET_KEY (key for secrets stored in the settings file; else a key file beside it),
GATEHOUSE_HOME (what \${GATEHOUSE_HOME} means in the settings; default: the installation folder),
LOG_LEVEL (${LOG_LEVELS.join(', ')}; default info).

Exit codes: 0 after SIGINT/SIGTERM/SIGHUP, 1 runtime failure, 2 bad flags or settings,
3 the address cannot be used (port in use, not allowed, not this machine's).`;

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
const EXIT_ADDRESS = 3;
/** How long calls in flight may take to finish after SIGTERM/SIGINT before they are cancelled. */
const DRAIN_MS = 10_000;

interface Cli {
  config: string;
  /** --config or GATEHOUSE_CONFIG named the file: a missing one is an error, not a starter file. */
  configNamed: boolean;
  port: number;
  host: string;
  logLevel: LogLevel;
}

function parseCli(argv: string[], env: NodeJS.ProcessEnv): Cli | 'help' | 'version' {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (values.version) return 'version';
  const portText = values.port ?? env.PORT ?? '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText.trim()) || port > 65535) {
    throw new Error(`--port must be a whole number from 0 to 65535, not "${portText}"`);
  }
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${env.LOG_LEVEL}"`);
  }
  const named = values.config ?? env.GATEHOUSE_CONFIG;
  return {
    config: resolve(named ?? 'mcp_settings.json'),
    configNamed: named !== undefined,
    port,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    logLevel: logLevel as LogLevel,
  };
}

/** The installation folder: the one with package.json above server/ (sources) or dist/server/ (built). */
function installationFolder(): string {
  const here = import.meta.dirname;
  const candidates = [resolve(here, '..'), resolve(here, '..', '..')];
  return candidates.find((dir) => existsSync(join(dir, 'package.json'))) ?? candidates[0]!;
}

async function main(): Promise<number> {
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (cli === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (cli === 'version') {
    console.log(VERSION);
    return 0;
  }

  const settingsExists = existsSync(cli.config);
  // A starter file has no inboundAuth: refused before it is written (the loaded file is checked below).
  if (!isLoopback(cli.host) && !settingsExists) {
    console.error(hostRefusal(cli.host, cli.config));
    return EXIT_USAGE;
  }
  if (!settingsExists && cli.configNamed) {
    console.error(
      `gatehouse: the settings file ${cli.config} does not exist. Create it (the smallest one is ` +
        `{ "mcpServers": {} }), or start without --config and GATEHOUSE_CONFIG to get a starter ` +
        'mcp_settings.json with the demo servers in the current folder.',
    );
    return EXIT_USAGE;
  }
  // Before anything is written or started: a busy port is one line, and leaves nothing behind.
  const busy = await portProblem(cli.host, cli.port);
  if (busy) {
    console.error(`gatehouse: ${busy}`);
    return EXIT_ADDRESS;
  }

  const logger = await createLogger({ level: cli.logLevel, pretty: process.stdout.isTTY === true });
  // What ${GATEHOUSE_HOME} means in the settings (the shipped entries name the demo programs
  // through it, so a copy works from any folder) and where the starter file comes from.
  const home = process.env.GATEHOUSE_HOME || installationFolder();
  const settingsDir = dirname(cli.config);
  let store: SettingsStore;
  let adminToken: string;
  let tokenSource: string;
  try {
    if (!settingsExists) {
      await writeStarterSettings(cli.config, home);
      logger.info(
        { file: cli.config },
        'Created a starter settings file with the demo servers; edit it to add your own',
      );
    }
    const secrets = new SecretBox({ configured: process.env.GATEHOUSE_SECRET_KEY, settingsDir, logger });
    const env = { ...process.env, GATEHOUSE_HOME: home };
    store = new SettingsStore({ path: cli.config, env, logger, secrets });
    await store.load();
    if (!isLoopback(cli.host) && store.current.system.inboundAuth === undefined) {
      console.error(hostRefusal(cli.host, cli.config));
      await store.close();
      return EXIT_USAGE;
    }
    ({ token: adminToken, source: tokenSource } = await resolveAdminToken({
      configured: process.env.GATEHOUSE_ADMIN_TOKEN,
      settingsDir,
      logger,
    }));
  } catch (error) {
    if (isGatehouseError(error)) {
      console.error(`gatehouse: ${startupErrorText(error)}`);
      return EXIT_USAGE;
    }
    throw error;
  }

  let app: Awaited<ReturnType<typeof buildApp>>['app'];
  let gateway: Awaited<ReturnType<typeof buildApp>>['gateway'];
  try {
    ({ app, gateway } = await buildApp({ store, adminToken, host: cli.host, loggerInstance: logger }));
  } catch (error) {
    if (isGatehouseError(error)) {
      console.error(`gatehouse: ${startupErrorText(error)}`);
      await store.close();
      return EXIT_USAGE;
    }
    throw error;
  }
  await store.startWatching();

  let closing = false;
  const close = () => Promise.all([app.close(), store.close()]);
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ afterMs: DRAIN_MS + 15_000 }, 'shutdown took too long; exiting');
      process.exit(EXIT_RUNTIME);
    }, DRAIN_MS + 15_000);
    force.unref();
    // Drain first: /readyz turns 503, new MCP requests are refused, calls in flight may finish.
    gateway
      .drain(DRAIN_MS)
      .then((left) => {
        if (left > 0) logger.warn({ calls: left, afterMs: DRAIN_MS }, 'calls still running are cancelled');
        return close();
      })
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: String(error) }, 'shutdown failed');
          process.exit(EXIT_RUNTIME);
        },
      );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // The terminal it was started from closed: end as cleanly as on Ctrl-C (by default SIGHUP kills
  // the gateway at once, and its stdio children, in process groups of their own, get no signal).
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  let address: string;
  try {
    address = await app.listen({ port: cli.port, host: cli.host });
  } catch (error) {
    // Taken between the check above and now: still one line, and the upstreams that started stop.
    const problem = listenProblem(error, cli.host, cli.port);
    if (problem === undefined) throw error;
    closing = true;
    console.error(`gatehouse: ${problem}`);
    await close().catch(() => undefined);
    return EXIT_ADDRESS;
  }
  // The browser must reach the dashboard under the host its session cookie and the OAuth
  // callback use: systemConfig.baseUrl when set (printing localhost while the browser is sent to
  // 127.0.0.1 would lose the cookie).
  const configured = store.current.system.baseUrl?.replace(/\/+$/, '');
  const base =
    configured ?? address.replace('://[::1]', '://localhost').replace('://127.0.0.1', '://localhost');
  // The banner is for the person who started it, not a log record: it carries the admin token.
  console.log(`Gatehouse ${VERSION} is listening on ${address}`);
  console.log(`  MCP endpoint:  ${base}/mcp`);
  console.log(`  Dashboard:     ${base}/#token=${adminToken}`);
  if (tokenSource === 'generated') {
    console.log(`  (a new admin token was generated and saved beside ${cli.config})`);
  }
  return -1;
}

/**
 * These settings errors list their problems by setting path, one per line, and leave the file to
 * `details.file` (server/settings); every other start-up error's message names its file itself.
 */
const LISTS_PROBLEMS = new Set<ErrorCode>(['SETTINGS_INVALID', 'SETTINGS_MISSING_ENV']);

/** A start-up error for a person: the file it is about, named once, then what is wrong. */
function startupErrorText(error: GatehouseError): string {
  const file = error.details?.file;
  if (typeof file !== 'string' || !LISTS_PROBLEMS.has(error.code)) return error.message;
  return `${file}:\n${error.message.replace(/^/gm, '  ')}`;
}

/**
 * Why `host:port` cannot be listened on, in one line for a person; undefined for an error that is
 * not about the address (it is thrown on).
 */
function listenProblem(error: unknown, host: string, port: number): string | undefined {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return (
        `port ${port} on ${host} is already in use (another Gatehouse?); stop that program or ` +
        'choose another port with --port (or PORT)'
      );
    case 'EACCES':
      return `not allowed to listen on ${host} port ${port}; choose a port above 1023 with --port (or PORT)`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; check --host (or HOST)`;
    default:
      return undefined;
  }
}

/** DESIGN.md, security baseline: bound beyond loopback, /mcp needs inbound authentication. */
function hostRefusal(host: string, config: string): string {
  return (
    `gatehouse: refusing to listen on ${host}: without inbound authentication the MCP endpoint is ` +
    'open, so it may only listen on a loopback address (127.0.0.1, localhost, ::1). Add ' +
    `"inboundAuth": {} to systemConfig in ${config} (API keys and the admin token), or ` +
    '"inboundAuth": { "oauth": { "enabled": true } } (OAuth sign-in as well), and set ' +
    'systemConfig.baseUrl to the public URL.'
  );
}

/**
 * Binds `host:port` for a moment, before anything is written or started, so that a busy port is
 * reported alone. (The port can still be taken before the real listen; main handles that too.)
 */
async function portProblem(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return undefined;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (error) {
    const problem = listenProblem(error, host, port);
    if (problem === undefined) throw error;
    return problem;
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
  return undefined;
}

/**
 * Writes a starter settings file at `path`: the shipped mcp_settings.json (its demo entries name
 * their programs through ${GATEHOUSE_HOME}, so they work from any folder) without anything a
 * gateway stored in it, with `$schema` pointing at the installed schema. Never overwrites a file.
 */
async function writeStarterSettings(path: string, home: string): Promise<void> {
  const format = { formattingOptions: { insertSpaces: true, tabSize: 2 } };
  let text: string;
  try {
    text = await readFile(join(home, 'mcp_settings.json'), 'utf8');
  } catch {
    text = '{\n  "mcpServers": {}\n}\n';
  }
  const schema = pathToFileURL(join(home, 'server', 'settings', 'schema.json')).href;
  text = applyEdits(text, modify(text, ['$schema'], schema, format));
  // A checkout where the demo ran holds encrypted credentials for its own key: leave them out.
  const servers = (parseJsonc(text) as { mcpServers?: Record<string, unknown> }).mcpServers ?? {};
  for (const name of Object.keys(servers)) {
    text = applyEdits(text, modify(text, ['mcpServers', name, 'gatehouse'], undefined, format));
  }
  await writeFile(path, text, { flag: 'wx' });
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`gatehouse: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(EXIT_RUNTIME);
  },
);
