import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { allowedHostNames, checkHostAndOrigin, hostName, isLoopback } from '../../server/security/inbound.js';
import { isLoopbackHost } from '../../server/security/ssrf.js';
import { startGateway, type TestGateway } from '../fixtures/gateway.js';

test('loopback addresses are recognised', () => {
  for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3']) assert.ok(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com']) assert.ok(!isLoopback(host), host);
});

test('loopback means one thing: the bind check and the SSRF guard give the same answers', () => {
  const hosts = ['127.0.0.1', '127.1.2.3', 'localhost', 'app.localhost', '::1', '[::1]', '127.999.0.1'];
  for (const host of [...hosts, '0.0.0.0', '10.0.0.1', 'localhost.example.com', '::ffff:10.0.0.1']) {
    assert.equal(isLoopback(host), isLoopbackHost(host), host);
  }
  // Not an address at all, so not loopback; `*.localhost` is (RFC 6761 §6.3).
  assert.equal(isLoopback('127.999.0.1'), false);
  assert.equal(isLoopback('app.localhost'), true);
});

test('Host headers are compared without their port', () => {
  assert.equal(hostName('localhost:3000'), 'localhost');
  assert.equal(hostName('[::1]:3000'), '[::1]');
  assert.equal(hostName('Example.COM'), 'example.com');
});

test('a rebinding Host or a foreign Origin is refused; local ones and a configured base URL pass', () => {
  const allowed = allowedHostNames('https://gw.example.org', '127.0.0.1');
  assert.deepEqual(checkHostAndOrigin({ host: 'localhost:3000' }, allowed), { ok: true });
  assert.deepEqual(checkHostAndOrigin({ host: 'gw.example.org' }, allowed), { ok: true });
  assert.deepEqual(checkHostAndOrigin({ host: '127.0.0.1:3000', origin: 'http://localhost:5173' }, allowed), {
    ok: true,
  });
  assert.equal(checkHostAndOrigin({ host: 'evil.example:3000' }, allowed).ok, false);
  assert.equal(
    checkHostAndOrigin({ host: 'localhost:3000', origin: 'http://evil.example' }, allowed).ok,
    false,
  );
  assert.equal(checkHostAndOrigin({ host: 'localhost:3000', origin: 'null' }, allowed).ok, false);
  assert.equal(checkHostAndOrigin({}, allowed).ok, false);
});

describe('the MCP endpoint against DNS rebinding', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mcpServers: {} });
  });
  after(async () => {
    await gw?.close();
  });

  /** Raw request so the Host header can be set to what a rebinding attack sends. */
  function post(headers: Record<string, string>): Promise<number> {
    const url = new URL(`${gw.base}/mcp`);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/mcp',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        }),
      );
    });
  }

  test('a request naming another host is refused with 403', async () => {
    assert.equal(await post({ host: 'attacker.example:80' }), 403);
  });

  test('a request from a foreign web origin is refused with 403', async () => {
    assert.equal(await post({ origin: 'https://attacker.example' }), 403);
  });

  test('a local request is served', async () => {
    assert.equal(await post({}), 200);
  });
});
