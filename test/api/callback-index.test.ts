/**
 * One server's stored credential that no longer decrypts (issue 11, item 3) must break nothing but
 * that server: every other server's authorization callback still works, and the damaged one says
 * what is wrong and recovers when a person authorizes it again.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import type { AuthStatus } from '../../server/oauth/engine.js';
import type { ServerStatus } from '../../server/api/status.js';
import { startGateway, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';

async function authorize(gw: TestGateway, name: string): Promise<Response> {
  const res = await gw.api(`/api/servers/${name}/authorize`, { method: 'POST' });
  assert.equal(res.status, 200, `POST /api/servers/${name}/authorize`);
  const { authorizationUrl } = (await res.json()) as { authorizationUrl: string };
  const redirect = await completeAuthorization(authorizationUrl);
  return fetch(`${gw.base}/oauth/callback${redirect.search}`);
}

describe('an unreadable stored credential', () => {
  let as: AuthServer;
  let broken: ProtectedMcp;
  let healthy: ProtectedMcp;
  let gw: TestGateway | undefined;

  before(async () => {
    as = await startAuthServer();
    broken = await startProtectedMcp({ authServer: as });
    healthy = await startProtectedMcp({ authServer: as });
  });
  after(async () => {
    await gw?.close();
    await broken.close();
    await healthy.close();
    await as.close();
  });

  test("breaks only its own server: other callbacks work, and it recovers on a person's Connect", async () => {
    // "broken" comes first, so a callback that asked every server in turn would reach it first.
    const first = await startGateway({
      mcpServers: { broken: { url: broken.url }, healthy: { url: healthy.url } },
    });
    await first.waitForServer('broken', (s) => s.status === 'auth_required', 'waiting for a person');
    assert.equal((await authorize(first, 'broken')).status, 200);
    await first.waitForServer('broken', (s) => s.status === 'connected', 'connected');
    await first.close({ keepFiles: true });

    // Damage the stored blob by hand, as a careless edit (or another key) would.
    const text = await readFile(first.settingsPath, 'utf8');
    const blob = /"(enc:v1:[^"]+)"/.exec(text)?.[1];
    assert.ok(blob, 'a credential was stored');
    const middle = Math.floor(blob.length / 2);
    const damaged = `${blob.slice(0, middle)}${blob[middle] === 'A' ? 'B' : 'A'}${blob.slice(middle + 1)}`;
    await writeFile(first.settingsPath, text.replace(blob, damaged));

    gw = await startGateway(null, { dir: first.dir });
    const status = (await (await gw.api('/api/servers/broken')).json()) as ServerStatus & {
      auth: AuthStatus;
    };
    assert.equal(status.auth.error?.code, 'SECRETS_DECRYPT_FAILED');
    assert.match(status.auth.error?.message ?? '', /broken.*cannot be decrypted/);

    // The healthy server's whole flow, callback included, is untouched by it.
    await gw.waitForServer('healthy', (s) => s.status === 'auth_required', 'waiting for a person');
    const callback = await authorize(gw, 'healthy');
    assert.equal(callback.status, 200, await callback.text());
    await gw.waitForServer('healthy', (s) => s.status === 'connected', 'healthy connected');

    // A person's Connect replaces the unreadable record and the server works again.
    assert.equal((await authorize(gw, 'broken')).status, 200);
    await gw.waitForServer('broken', (s) => s.status === 'connected', 'broken connected again');
  });
});
