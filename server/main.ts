#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The gatehouse command: parse flags, load the settings, build the app, listen, shut down cleanly.
 * The only module that reads process.env and writes to the console.
 */
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp, VERSION } from './app.js';
import { isGatehouseError } from './errors.js';
import type { Logger } from './log.js';
import { resolveAdminToken } from './security/admin-token.js';
import { isLoopback } from './security/inbound.js';
import { SecretBox } from './settings/secrets.js';
import { SettingsStore } from './settings/store.js';

const USAGE = `Usage: gatehouse [--config PATH] [--port N] [--host H]

  --config PATH  settings file (env GATEHOUSE_CONFIG; default ./mcp_settings.json)
  --port N       port to listen on (env PORT; default 3000)
  --host H       address to bind (env HOST; default 127.0.0.1)
  --help         show this help
  --version      print the version

Environment: GATEHOUSE_ADMIN_TOKEN (admin token; else generated and kept beside the settings file),
GATEHOUSE_SECRET_KEY (key for secrets stored in the settings file; else a key file beside it),
LOG_LEVEL (fatal, error, warn, info, debug; default info).`;

/** Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad settings or bad flags. */
const EXIT_USAGE = 2;

interface Cli {
  config: string;
  port: number;
  host: string;
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
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a whole number from 0 to 65535, not "${portText}"`);
  }
  return {
    config: resolve(values.config ?? env.GATEHOUSE_CONFIG ?? 'mcp_settings.json'),
    port,
    host: values.host ?? env.HOST ?? '127.0.0.1',
  };
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

  const settingsDir = dirname(cli.config);
  const loggerOptions = { level: process.env.LOG_LEVEL ?? 'info' };
  let store: SettingsStore;
  let adminToken: string;
  let tokenSource: string;
  try {
    const bootLogger = stderrLogger();
    const secrets = new SecretBox({
      configured: process.env.GATEHOUSE_SECRET_KEY,
      settingsDir,
      logger: bootLogger,
    });
    store = new SettingsStore({ path: cli.config, env: process.env, logger: bootLogger, secrets });
    await store.load();
    ({ token: adminToken, source: tokenSource } = await resolveAdminToken({
      configured: process.env.GATEHOUSE_ADMIN_TOKEN,
      settingsDir,
      logger: bootLogger,
    }));
  } catch (error) {
    if (isGatehouseError(error)) {
      // The message already lists every problem with its path, one per line.
      console.error(`gatehouse: ${cli.config}: ${error.message}`);
      return EXIT_USAGE;
    }
    throw error;
  }

  if (!isLoopback(cli.host)) {
    // DESIGN.md, security baseline: bound beyond loopback, /mcp needs inbound authentication,
    // which this version does not have yet.
    console.error(
      `gatehouse: refusing to listen on ${cli.host}: the MCP endpoint has no inbound authentication yet, ` +
        'so it may only listen on a loopback address (127.0.0.1, localhost, ::1). Put a reverse proxy with ' +
        'authentication in front of it to reach it from elsewhere.',
    );
    return EXIT_USAGE;
  }
  const { app } = await buildApp({ store, adminToken, host: cli.host, logger: loggerOptions });
  store.setLogger(app.log as unknown as Logger);
  await store.startWatching();

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      console.error('gatehouse: shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    Promise.all([app.close(), store.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`gatehouse: shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const address = await app.listen({ port: cli.port, host: cli.host });
  const base = address.replace('://[::1]', '://localhost').replace('://127.0.0.1', '://localhost');
  console.log(`Gatehouse ${VERSION} is listening on ${address}`);
  console.log(`  MCP endpoint:  ${base}/mcp`);
  console.log(`  Dashboard:     ${base}/#token=${adminToken}`);
  if (tokenSource === 'generated') {
    console.log(`  (a new admin token was generated and saved beside ${cli.config})`);
  }
  return -1;
}

/** Start-up messages before the Fastify logger exists go to stderr as plain lines. */
function stderrLogger(): Logger {
  const write = (level: string) => (obj: object, msg?: string) => {
    if (level === 'debug') return;
    console.error(`gatehouse ${level}: ${msg ?? ''} ${JSON.stringify(obj)}`);
  };
  const logger: Logger = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: () => logger,
  };
  return logger;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`gatehouse: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
