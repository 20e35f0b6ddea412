/**
 * Pasting another client's configuration against a real gateway: a preview with clashes and
 * problems, then the servers without either added in one write, and connecting.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { parseJsonText } from '../../server/settings/json-text.js';
import { FAST_TIMEOUTS, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { callApi } from './admin-session-client.js';

interface Candidate {
  name: string;
  entry: Record<string, unknown>;
  clash: boolean;
  problems: Array<{ path: string; message: string }>;
}

describe('importing a pasted configuration', () => {
  let one: HttpUpstream;
  let two: HttpUpstream;
  let gw: TestGateway;
  const doc = async () =>
    parseJsonText(await readFile(gw.settingsPath, 'utf8'), 'f') as {
      mcpServers: Record<string, Record<string, unknown>>;
    };

  before(async () => {
    [one, two] = await Promise.all([startHttpUpstream('one'), startHttpUpstream('two')]);
    gw = await startGateway({
      mcpServers: { existing: { command: 'never-started', enabled: false } },
      groups: { team: { servers: ['existing'] } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  const claudeDesktop = () => `{
    // from claude_desktop_config.json
    "mcpServers": {
      "one": { "type": "http", "url": "${one.url}" },
      "two": { "url": "${two.url}", "headers": { "Authorization": "Bearer pasted-secret" } },
    },
  }`;

  test('a Claude Desktop snippet with two servers: a preview, then both added and connected', async () => {
    const preview = await callApi<{ servers: Candidate[] }>(gw, 'POST', '/api/servers/import', {
      snippet: claudeDesktop(),
    });
    assert.equal(preview.status, 200);
    assert.deepEqual(
      preview.body.servers.map(({ name, clash, problems }) => ({ name, clash, problems })),
      [
        { name: 'one', clash: false, problems: [] },
        { name: 'two', clash: false, problems: [] },
      ],
    );
    assert.deepEqual(preview.body.servers[1]?.entry.headers, { Authorization: { secret: true, set: true } });
    assert.deepEqual(Object.keys((await doc()).mcpServers), ['existing'], 'a preview writes nothing');

    const applied = await callApi<{ added: string[] }>(gw, 'POST', '/api/servers/import', {
      snippet: claudeDesktop(),
      apply: true,
    });
    assert.equal(applied.status, 200);
    assert.deepEqual(applied.body.added, ['one', 'two']);
    await gw.waitForServer('one', (s) => s.status === 'connected', 'one connected');
    await gw.waitForServer('two', (s) => s.status === 'connected', 'two connected');
    const text = await readFile(gw.settingsPath, 'utf8');
    assert.doesNotMatch(text, /pasted-secret/, 'a pasted credential is stored encrypted');
    assert.match(JSON.stringify((await doc()).mcpServers.two?.headers), /enc:v1:/);
  });

  test('names in use clash (servers and groups) and are skipped, unless renamed', async () => {
    const snippet = `{ "servers": {
      "one": { "type": "http", "url": "${one.url}" },
      "team": { "type": "stdio", "command": "never-started", "disabled": true }
    } }`;
    const preview = await callApi<{ servers: Candidate[] }>(gw, 'POST', '/api/servers/import', { snippet });
    assert.deepEqual(
      preview.body.servers.map(({ name, clash }) => ({ name, clash })),
      [
        { name: 'one', clash: true },
        { name: 'team', clash: true },
      ],
    );
    const skipped = await callApi<{ added: string[] }>(gw, 'POST', '/api/servers/import', {
      snippet,
      apply: true,
    });
    assert.deepEqual(skipped.body.added, []);
    const renamed = await callApi<{ added: string[]; servers: Candidate[] }>(
      gw,
      'POST',
      '/api/servers/import',
      {
        snippet,
        apply: true,
        rename: { one: 'one-again', team: 'team-server' },
      },
    );
    assert.deepEqual(renamed.body.added, ['one-again', 'team-server']);
    assert.deepEqual((await doc()).mcpServers['team-server'], {
      type: 'stdio',
      command: 'never-started',
      disabled: true,
    });
  });

  test('entries that would not load are listed with their problems and not added', async () => {
    const snippet = `"broken": { "url": "ftp://nope" }, "needs-env": { "command": "x", "env": { "K": "\${GATEHOUSE_IMPORT_UNSET}" } }`;
    const answer = await callApi<{ added: string[]; servers: Candidate[] }>(
      gw,
      'POST',
      '/api/servers/import',
      {
        snippet,
        apply: true,
      },
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.added, []);
    assert.deepEqual(
      answer.body.servers.map(({ name, problems }) => ({ name, paths: problems.map((p) => p.path) })),
      [
        { name: 'broken', paths: ['url'] },
        { name: 'needs-env', paths: ['env.K'] },
      ],
    );
    assert.match(answer.body.servers[1]?.problems[0]?.message ?? '', /GATEHOUSE_IMPORT_UNSET is not set/);
    assert.equal((await doc()).mcpServers.broken, undefined);
  });

  test('text that is not a configuration: a syntax error with its line, or what to paste', async () => {
    const syntax = await callApi(gw, 'POST', '/api/servers/import', {
      snippet: '{\n  "mcpServers": {\n    "a": \n',
    });
    assert.equal(syntax.status, 400);
    assert.equal(syntax.error?.code, 'SETTINGS_INVALID_JSON');
    assert.ok(typeof syntax.error?.problems?.[0]?.line === 'number');
    const other = await callApi(gw, 'POST', '/api/servers/import', { snippet: '{ "editor.fontSize": 14 }' });
    assert.equal(other.status, 400);
    assert.equal(other.error?.code, 'BAD_REQUEST');
  });
});
