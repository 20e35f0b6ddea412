import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';

import { isGatehouseError, type ErrorCode } from '../../server/errors.js';
import {
  assertAllowedUrl,
  createGuardedFetch,
  isLoopbackHost,
  isPrivateAddress,
  pinnedLookup,
  type SsrfGuardOptions,
} from '../../server/security/ssrf.js';
import { createHttpFetch } from '../../server/http-fetch.js';

/** Resolves names from a fixed table (injected; no real DNS in tests). */
const dns: Record<string, string[]> = {
  'public.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'intranet.example': ['10.1.2.3'],
  'mixed.example': ['93.184.216.34', '192.168.1.10'],
  'metadata.example': ['169.254.169.254'],
  'v6private.example': ['fd00:ec2::254'],
  'mapped.example': ['::ffff:127.0.0.1'],
};
const options = (overrides: Partial<SsrfGuardOptions> = {}): SsrfGuardOptions => ({
  upstreamUrl: 'https://mcp.corp.example/mcp',
  allowedPrivateHosts: [],
  lookup: async (host) => {
    const found = dns[host];
    if (!found) throw new Error(`ENOTFOUND ${host}`);
    return found;
  },
  ...overrides,
});

async function refused(url: string, code: ErrorCode, opts = options()): Promise<void> {
  await assert.rejects(assertAllowedUrl(new URL(url), opts), (err) => isGatehouseError(err, code));
}

describe('SSRF guard', () => {
  test('private, loopback, link-local, metadata and special addresses, IPv4 and IPv6', () => {
    for (const address of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.0.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      'ff02::1',
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(isPrivateAddress(address), false, address);
    }
    assert.equal(isPrivateAddress('not-an-ip'), true);
  });

  test('loopback hosts', () => {
    for (const host of ['localhost', 'app.localhost', '127.0.0.1', '127.9.9.9', '[::1]']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    assert.equal(isLoopbackHost('10.0.0.1'), false);
    assert.equal(isLoopbackHost('example.com'), false);
  });

  test('public hosts pass; hosts resolving to any private address are blocked', async () => {
    await assertAllowedUrl(new URL('https://public.example/.well-known/x'), options());
    await refused('https://intranet.example/token', 'SSRF_BLOCKED');
    await refused('https://mixed.example/token', 'SSRF_BLOCKED');
    await refused('https://metadata.example/latest', 'SSRF_BLOCKED');
    await refused('https://v6private.example/x', 'SSRF_BLOCKED');
    await refused('https://mapped.example/x', 'SSRF_BLOCKED');
    await refused('https://169.254.169.254/latest/meta-data', 'SSRF_BLOCKED');
    await refused('https://[fe80::1]/x', 'SSRF_BLOCKED');
    await refused('https://unknown.example/x', 'SSRF_BLOCKED');
    await refused('ftp://public.example/x', 'SSRF_BLOCKED');
  });

  test("the upstream's own host is allowed on any port, even when private", async () => {
    const opts = options({ upstreamUrl: 'https://intranet.example/mcp' });
    await assertAllowedUrl(new URL('https://intranet.example:9443/token'), opts);
    await refused('https://metadata.example/x', 'SSRF_BLOCKED', opts);
  });

  test('allowedPrivateHosts lets named hosts or addresses through', async () => {
    await assertAllowedUrl(
      new URL('https://intranet.example/t'),
      options({ allowedPrivateHosts: ['intranet.example'] }),
    );
    await assertAllowedUrl(
      new URL('https://intranet.example/t'),
      options({ allowedPrivateHosts: ['10.1.2.3'] }),
    );
    await refused('https://mixed.example/t', 'SSRF_BLOCKED', options({ allowedPrivateHosts: ['10.1.2.3'] }));
  });

  test('plain http only to loopback or allowed hosts', async () => {
    await refused('http://public.example/token', 'OAUTH_INSECURE_ENDPOINT');
    await refused('http://mcp.corp.example/token', 'OAUTH_INSECURE_ENDPOINT');
    await assertAllowedUrl(
      new URL('http://127.0.0.1:8080/token'),
      options({ upstreamUrl: 'http://127.0.0.1:3000/mcp' }),
    );
    await assertAllowedUrl(
      new URL('http://localhost:8080/token'),
      options({ allowedPrivateHosts: ['localhost'] }),
    );
    await assertAllowedUrl(
      new URL('http://intranet.example/token'),
      options({ allowedPrivateHosts: ['intranet.example'] }),
    );
  });

  test('loopback on another host than the upstream needs allowedPrivateHosts', async () => {
    await refused('http://127.0.0.1:8080/token', 'SSRF_BLOCKED');
    await assertAllowedUrl(
      new URL('http://127.0.0.1:8080/token'),
      options({ allowedPrivateHosts: ['127.0.0.1'] }),
    );
  });

  test('the guarded fetch never follows a redirect', async () => {
    const server = createServer(
      (_req, res) => void res.writeHead(302, { location: 'http://169.254.169.254/' }).end(),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const guarded = createGuardedFetch(options({ upstreamUrl: `${origin}/mcp` }));
      const response = await guarded(`${origin}/metadata`, { redirect: 'follow' });
      assert.equal(response.status, 302);
      await assert.rejects(guarded('https://intranet.example/x'), (err) =>
        isGatehouseError(err, 'SSRF_BLOCKED'),
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('pinnedLookup applies the address rules to what a connection resolves', async () => {
    const lookup = pinnedLookup(options({ allowedPrivateHosts: ['intranet.example'] }));
    const resolveWith = (host: string, all: boolean) =>
      new Promise<unknown>((resolve, reject) =>
        lookup(host, { all }, (error, address, family) =>
          error ? reject(error) : resolve(all ? address : { address, family }),
        ),
      );
    await assert.rejects(resolveWith('mixed.example', true), (err) => isGatehouseError(err, 'SSRF_BLOCKED'));
    await assert.rejects(resolveWith('metadata.example', false), (err) =>
      isGatehouseError(err, 'SSRF_BLOCKED'),
    );
    assert.deepEqual(await resolveWith('public.example', false), { address: '93.184.216.34', family: 4 });
    assert.deepEqual(await resolveWith('public.example', true), [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
    assert.deepEqual(await resolveWith('intranet.example', true), [{ address: '10.1.2.3', family: 4 }]);
  });

  test('DNS rebinding: a name that was public for the check and private for the connection is refused', async () => {
    let requests = 0;
    const server = createServer((_req, res) => void (requests++, res.end('inside')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // The first resolution (the guard's check) says public, every later one (the connection) loopback.
    let lookups = 0;
    const flipping = async (host: string) => {
      if (host !== 'rebind.example') throw new Error(`ENOTFOUND ${host}`);
      return lookups++ === 0 ? ['93.184.216.34'] : ['127.0.0.1'];
    };
    const guard = options({ lookup: flipping, allowedPrivateHosts: ['rebind.example'] });
    const strict = options({ lookup: flipping });
    const pinned = createHttpFetch({ lookup: pinnedLookup(strict) });
    const trusting = createHttpFetch({ lookup: pinnedLookup(guard) });
    try {
      const guarded = createGuardedFetch({ ...strict, fetch: pinned.fetch });
      await assert.rejects(guarded(`https://rebind.example:${port}/token`), (err: Error) =>
        isGatehouseError(err.cause, 'SSRF_BLOCKED'),
      );
      assert.equal(requests, 0, 'nothing reached the private address');
      assert.equal(lookups, 2, 'the connection resolved the name itself, after the check');

      // Named in allowedPrivateHosts, the same host is reached.
      const allowed = await trusting.fetch(`http://rebind.example:${port}/token`);
      assert.equal(await allowed.text(), 'inside');
      assert.equal(requests, 1);
    } finally {
      pinned.close();
      trusting.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
