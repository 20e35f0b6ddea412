/**
 * Secrets typed into forms, as pure code: which fields are secret, how they are redacted, stored
 * encrypted (bound to server and field), kept, moved to a new name, and decrypted when the
 * settings load; a value that does not decrypt breaks only its own server.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGatehouseError } from '../../server/errors.js';
import {
  decryptSettingsSecrets,
  hasStoredSecrets,
  prepareFormEntry,
  redactEntry,
  settingAad,
} from '../../server/settings/form-secrets.js';
import { SettingsLoader } from '../../server/settings/load.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { SettingsStore } from '../../server/settings/store.js';
import { recordingLogger, tempDir, TEST_KEY, writeJson } from './helpers.js';

const box = new SecretBox({ key: TEST_KEY });
type Entry = Record<string, Record<string, unknown>>;

test('redactEntry hides OAuth secrets, stored values and credential headers, shows references and plain values', () => {
  const entry = {
    url: 'https://x.example/mcp',
    headers: {
      Authorization: 'Bearer plain-token',
      'X-Api-Key': 'k-123',
      'X-Team': 'team-a',
      'X-Stored': 'enc:v1:AAAA',
      'X-From-Env': 'Bearer ${TOKEN}',
    },
    env: { GITHUB_TOKEN: 'ghp_x', DEBUG: '1', EMPTY_SECRET: '' },
    oauth: {
      clientId: 'app',
      clientSecret: 'shh',
      dynamicRegistration: { initialAccessToken: '' },
      accessToken: 'imported',
      scopes: ['a'],
    },
    gatehouse: { credentials: { gateway: 'enc:v1:BBBB' } },
  };
  assert.deepEqual(redactEntry(entry), {
    url: 'https://x.example/mcp',
    headers: {
      Authorization: { secret: true, set: true },
      'X-Api-Key': { secret: true, set: true },
      'X-Team': 'team-a',
      'X-Stored': { secret: true, set: true },
      'X-From-Env': 'Bearer ${TOKEN}',
    },
    env: {
      GITHUB_TOKEN: { secret: true, set: true },
      DEBUG: '1',
      EMPTY_SECRET: { secret: true, set: false },
    },
    oauth: {
      clientId: 'app',
      clientSecret: { secret: true, set: true },
      dynamicRegistration: { initialAccessToken: { secret: true, set: false } },
      accessToken: { secret: true, set: true },
      scopes: ['a'],
    },
  });
  assert.equal(entry.headers.Authorization, 'Bearer plain-token', 'the input is not changed');
});

test('a form entry: typed secrets are stored encrypted for that server and field; references and plain values stay', async () => {
  const entry = (await prepareFormEntry(
    {
      url: 'https://x.example/mcp',
      headers: { Authorization: 'Bearer typed', 'X-Team': { secret: true, value: 'marked' }, 'X-Plain': 'p' },
      env: { API_TOKEN: '${FROM_ENV}' },
      oauth: { clientSecret: 'cs', dynamicRegistration: { initialAccessToken: 'iat' } },
      gatehouse: { credentials: { gateway: 'enc:v1:smuggled' } },
    },
    { server: 'svc', secrets: box },
  )) as Entry;
  assert.equal(entry.gatehouse, undefined, 'the form cannot write gateway fields');
  assert.equal(entry.headers!['X-Plain'], 'p');
  assert.equal(entry.env!.API_TOKEN, '${FROM_ENV}');
  const decrypt = async (value: unknown, path: string[]) => {
    assert.match(String(value), /^enc:v1:/);
    return box.decrypt(String(value), settingAad('svc', path));
  };
  assert.equal(await decrypt(entry.headers!.Authorization, ['headers', 'Authorization']), 'Bearer typed');
  assert.equal(await decrypt(entry.headers!['X-Team'], ['headers', 'X-Team']), 'marked');
  assert.equal(await decrypt(entry.oauth!.clientSecret, ['oauth', 'clientSecret']), 'cs');
  const registration = entry.oauth!.dynamicRegistration as Record<string, unknown>;
  assert.equal(
    await decrypt(registration.initialAccessToken, ['oauth', 'dynamicRegistration', 'initialAccessToken']),
    'iat',
  );
  // Bound to the field: the same value under another header does not decrypt.
  await assert.rejects(
    box.decrypt(String(entry.headers!.Authorization), settingAad('svc', ['headers', 'X-Team'])),
  );
  await assert.rejects(
    box.decrypt(String(entry.headers!.Authorization), settingAad('other', ['headers', 'Authorization'])),
  );
});

test('keep takes the stored value as it is; on a rename an encrypted one is encrypted again for the new name', async () => {
  const stored = await box.encrypt('the-secret', settingAad('old', ['oauth', 'clientSecret']));
  const form = { url: 'https://x.example/mcp', oauth: { clientSecret: { secret: true, keep: true } } };
  const same = (await prepareFormEntry(form, {
    server: 'old',
    stored: { server: 'old', entry: { url: 'u', oauth: { clientSecret: stored } } },
    secrets: box,
  })) as Entry;
  assert.equal(same.oauth!.clientSecret, stored, 'unchanged bytes');
  const moved = (await prepareFormEntry(form, {
    server: 'new',
    stored: { server: 'old', entry: { url: 'u', oauth: { clientSecret: stored } } },
    secrets: box,
  })) as Entry;
  assert.notEqual(moved.oauth!.clientSecret, stored);
  assert.equal(
    await box.decrypt(String(moved.oauth!.clientSecret), settingAad('new', ['oauth', 'clientSecret'])),
    'the-secret',
  );
  const plain = (await prepareFormEntry(form, {
    server: 'old',
    stored: { server: 'old', entry: { url: 'u', oauth: { clientSecret: 'written-by-hand' } } },
    secrets: box,
  })) as Entry;
  assert.equal(plain.oauth!.clientSecret, 'written-by-hand', 'a kept hand-written value stays as written');
});

test('secret markers are refused where no secret can be, and keep needs something stored', async () => {
  const refused = async (entry: unknown, pattern: RegExp) =>
    assert.rejects(prepareFormEntry(entry, { server: 's', secrets: box }), (error: unknown) => {
      assert.ok(isGatehouseError(error, 'BAD_REQUEST'));
      assert.match(error.message, pattern);
      return true;
    });
  await refused({ url: { secret: true, value: 'https://x' } }, /entry\.url: only/);
  await refused(
    { url: 'https://x', headers: { A: { secret: true, keep: true } } },
    /headers\.A: there is no stored value/,
  );
  await refused({ url: 'https://x', headers: { A: { secret: true } } }, /headers\.A: a secret is/);
  await refused('not an object', /"entry" must be an object/);
});

test('loading decrypts stored secrets after ${VAR} interpolation; one that does not decrypt affects only its server', async () => {
  const good = await box.encrypt('Bearer good', settingAad('a', ['headers', 'Authorization']));
  const copied = good; // copied into another server's entry: bound to "a", so it does not decrypt for "b"
  const raw = {
    mcpServers: {
      a: { url: 'https://a.example/mcp', headers: { Authorization: good, 'X-Env': '${X}' } },
      b: { url: 'https://b.example/mcp', headers: { Authorization: copied } },
      c: { url: 'https://c.example/mcp' },
    },
  };
  assert.equal(hasStoredSecrets(raw), true);
  assert.equal(hasStoredSecrets({ mcpServers: { c: raw.mcpServers.c } }), false);
  const loader = new SettingsLoader();
  const decrypt = await box.decrypter();
  const settings = loader.fromRaw(raw, { path: 'mcp_settings.json', env: { X: 'from-env' }, decrypt });
  const a = settings.servers.get('a');
  const b = settings.servers.get('b');
  assert.ok(a?.type !== 'stdio' && b?.type !== 'stdio');
  assert.deepEqual(a?.headers, { Authorization: 'Bearer good', 'X-Env': 'from-env' });
  assert.equal(a?.problem, undefined);
  assert.equal(b?.headers.Authorization, '', 'never the ciphertext');
  assert.deepEqual(b?.problem?.code, 'SECRETS_DECRYPT_FAILED');
  assert.equal(b?.problem?.path, 'mcpServers.b.headers.Authorization');
  assert.match(
    b?.problem?.message ?? '',
    /^mcpServers\.b\.headers\.Authorization: the stored secret could not be decrypted/,
  );
  assert.equal(settings.servers.get('c')?.problem, undefined);
  // Without a key at all, the same servers are affected, no others.
  const keyless = loader.fromRaw(raw, { path: 'mcp_settings.json', env: { X: 'x' } });
  assert.deepEqual(
    [...keyless.servers.values()].filter((s) => s.problem).map((s) => s.name),
    ['a', 'b'],
  );
});

test('a decrypted value that looks like ${VAR} stays literal (decryption comes after interpolation)', async () => {
  const stored = await box.encrypt('p${NOT_A_VAR}', settingAad('s', ['env', 'PASSWORD']));
  const { doc, unreadable } = decryptSettingsSecrets(
    { mcpServers: { s: { command: 'x', env: { PASSWORD: stored } } } },
    await box.decrypter(),
  );
  assert.deepEqual(unreadable, []);
  assert.deepEqual(doc, { mcpServers: { s: { command: 'x', env: { PASSWORD: 'p${NOT_A_VAR}' } } } });
});

test('without a readable key only the servers with stored secrets are affected, and the log says why', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  const stored = await box.encrypt('x', settingAad('a', ['env', 'TOKEN']));
  await writeJson(path, {
    mcpServers: { a: { command: 'x', env: { TOKEN: stored } }, b: { command: 'y' } },
  });
  const logger = recordingLogger();
  // The key file would live in a folder that does not exist: it can be neither read nor created.
  const store = new SettingsStore({
    path,
    env: {},
    logger,
    secrets: new SecretBox({ settingsDir: join(dir, 'no-such-folder') }),
  });
  t.after(() => store.close());
  const settings = await store.load();
  assert.equal(settings.servers.get('a')?.problem?.code, 'SECRETS_DECRYPT_FAILED');
  assert.equal(settings.servers.get('b')?.problem, undefined);
  assert.ok(
    logger.entries.some((e) => e.level === 'error' && /encryption key could not be read/.test(e.msg ?? '')),
  );
  assert.deepEqual(
    store.status().warnings.map((w) => [w.kind, w.path]),
    [['unreadable', 'mcpServers.a.env.TOKEN']],
  );
});
