/**
 * Per-user upstream credentials (issue 14), end to end with real parts: a team-mode Gatehouse whose
 * people sign in through a real oidc-provider acting as the company's OpenID provider; a per-user
 * upstream that is a real protected MCP server behind a second oidc-provider and answers `whoami`
 * with the account of the token it got; a per-user stdio program that shows its environment.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { FAST_TIMEOUTS, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import type { AuthServer } from '../fixtures/oidc-provider.js';
import { Browser, openConnectLink, signInToDashboard } from '../fixtures/people.js';
import { keyedProgram, startPerUserTeam, type PerUserTeam } from '../fixtures/per-user-team.js';
import type { ProtectedMcp } from '../fixtures/protected-mcp.js';
import { MemoryClientProvider, sdkSignIn } from '../inbound/oauth-client.js';
import { connectLink } from '../../server/api/connect-routes.js';

interface Person {
  subject: string;
  browser: Browser;
  provider: MemoryClientProvider;
}

describe('per-user servers: each person acts upstream as themselves', () => {
  let team: PerUserTeam;
  let upstreamAs: AuthServer;
  let mcp: ProtectedMcp;
  let gw: TestGateway;
  let local: string;
  const people = new Map<string, Person>();
  const clients: Client[] = [];

  before(async () => {
    team = await startPerUserTeam({
      system: { timeouts: FAST_TIMEOUTS },
      toolScopes: { write: ['mcp:write'] },
      servers: (url) => ({
        github: { type: 'streamable-http', url, credentials: 'perUser' },
        keys: keyedProgram('keys', 'apiKey'),
      }),
    });
    ({ gw, local, mcp, upstreamAs } = team);
    for (const account of ['alice', 'bob', 'carol']) {
      const browser = new Browser();
      await signInToDashboard(browser, local, account);
      const { provider } = await sdkSignIn(
        `${local}/mcp`,
        new MemoryClientProvider({ name: `${account}'s agent` }),
        {
          idpAccount: account,
        },
      );
      people.set(account, { subject: `${account}@example.com`, browser, provider });
    }
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await team?.close();
  });

  const person = (account: string) => people.get(account)!;

  /** An MCP client of `account`'s, with URL-mode elicitation when `onUrl` is given. */
  async function clientOf(account: string, onUrl?: (url: string, id: string) => void): Promise<Client> {
    const client = new Client(
      { name: `${account}-agent`, version: '1.0.0' },
      { capabilities: onUrl ? { elicitation: { url: {} } } : {} },
    );
    if (onUrl) {
      client.setRequestHandler(ElicitRequestSchema, (request) => {
        const params = request.params as { mode?: string; url?: string; elicitationId?: string };
        assert.equal(params.mode, 'url');
        onUrl(params.url!, params.elicitationId!);
        return { action: 'accept' };
      });
    }
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${local}/mcp`), { authProvider: person(account).provider }),
    );
    clients.push(client);
    return client;
  }

  test('before anyone connects it, a per-user server lists no tools; shared servers list for everyone', async () => {
    const carol = await clientOf('carol');
    const before = (await carol.listTools()).tools.map((t) => t.name);
    assert.ok(!before.includes('github__whoami'), 'nobody has connected github yet');
    assert.ok(before.includes('alpha__echo'), 'the shared server is there for everyone');
  });

  test('a client with URL elicitation gets the link in-band, and the call goes on as that person after consent', async () => {
    const alice = person('alice');
    let connecting: Promise<unknown> | undefined;
    const asked: string[] = [];
    const completed: string[] = [];
    const client = await clientOf('alice', (url, id) => {
      asked.push(url);
      // The person opens the link in her own browser after the client said yes.
      connecting = openConnectLink(alice.browser, url, 'alice');
      completed.push(`asked:${id}`);
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) => {
      completed.push(`done:${notification.params.elicitationId}`);
    });
    const result = await client.callTool({ name: 'github__whoami', arguments: {} });
    assert.equal(textOf(result), 'alice');
    assert.equal(asked.length, 1);
    assert.match(asked[0]!, /\/oauth\/connect\/github\?for=/);
    const outcome = (await connecting) as { status: number };
    assert.equal(outcome.status, 200);
    // The completion announced for the same elicitation.
    const id = completed[0]!.slice('asked:'.length);
    await waitUntil(() => completed.includes(`done:${id}`), 'elicitation/complete');
  });

  test('step-up is per person: a tool needing more scopes asks that person again, in-band, and goes on', async () => {
    const alice = person('alice');
    let connecting: Promise<{ status: number }> | undefined;
    const client = await clientOf('alice', (url) => {
      connecting = openConnectLink(alice.browser, url, 'alice');
    });
    const result = await client.callTool({ name: 'github__write', arguments: { text: 'hi' } });
    assert.equal(textOf(result), 'write: hi');
    assert.equal((await connecting!).status, 200);
    // Bob has not authorized at all: his first call is still his own to make.
    const status = await gw.manager.personStatus('github', person('bob').subject);
    assert.notEqual(status.auth?.stage, 'authorized');
  });

  test('after one person connected, everyone sees its tools before authorizing', async () => {
    const carol = await clientOf('carol');
    const tools = (await carol.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes('github__whoami'), tools.join(', '));
  });

  test('a client without URL elicitation gets the URL-elicitation-required error with its own link', async () => {
    const bob = person('bob');
    const client = await clientOf('bob');
    const failure = await client.callTool({ name: 'github__whoami', arguments: {} }).then(
      () => assert.fail('the call needs bob to authorize first'),
      (error: unknown) => error as McpError,
    );
    assert.equal(failure.code, -32042);
    const data = failure.data as { elicitations: Array<{ mode: string; url: string }> };
    const link = data.elicitations[0]!.url;
    assert.equal(data.elicitations[0]!.mode, 'url');
    assert.match(link, /\/oauth\/connect\/github\?for=/);
    assert.ok(failure.message.includes(link), failure.message);
    // Another person's browser cannot use it: the link is bound to bob.
    const wrong = await openConnectLink(person('carol').browser, link, 'carol');
    assert.equal(wrong.status, 403);
    assert.match(wrong.html, /made for another person/);
    // Bob consents in his own browser; his call now reaches the upstream as him.
    const outcome = await openConnectLink(bob.browser, link, 'bob');
    assert.equal(outcome.status, 200, outcome.html);
    assert.equal(textOf(await client.callTool({ name: 'github__whoami', arguments: {} })), 'bob');
  });

  test('a browser not signed in to Gatehouse is asked to sign in before the link goes anywhere', async () => {
    const link = connectLink(local, 'github', person('alice').subject);
    const stranger = new Browser();
    const first = await stranger.fetch(link);
    const page = await first.text();
    // Arriving from another site the SameSite=Strict session cookie may not come along: one click.
    assert.equal(first.status, 200);
    const next = /<a href="([^"]+)">Continue<\/a>/.exec(page)?.[1];
    assert.ok(next, page);
    const second = await stranger.fetch(
      new URL(next.replaceAll('&#38;', '&').replaceAll('&amp;', '&'), link).href,
    );
    assert.equal(second.status, 401);
    const html = await second.text();
    assert.match(html, /Sign in to Gatehouse first/);
    assert.match(html, /href="\/api\/session\/team"/);
    assert.equal(second.headers.get('location'), null, 'nowhere near the authorization server');
  });

  test('each call reaches the upstream as its caller, concurrently', async () => {
    const [alice, bob] = [await clientOf('alice'), await clientOf('bob')];
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? alice : bob).callTool({ name: 'github__whoami', arguments: {} }).then(textOf),
      ),
    );
    assert.deepEqual(
      answers,
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'alice' : 'bob')),
    );
    assert.ok(mcp.seen.tokensBySubject.get('alice')?.size);
    assert.ok(mcp.seen.tokensBySubject.get('bob')?.size);
    // No person's token is another's.
    const aliceTokens = mcp.seen.tokensBySubject.get('alice')!;
    for (const token of mcp.seen.tokensBySubject.get('bob')!) assert.ok(!aliceTokens.has(token));
  });

  test('a callback replayed in another person’s browser is refused and changes nothing', async () => {
    const alice = person('alice');
    await gw.manager.disconnectFor('github', alice.subject);
    const client = await clientOf('alice');
    const link = await client.callTool({ name: 'github__whoami', arguments: {} }).then(
      () => assert.fail('alice disconnected github'),
      (error: McpError) => (error.data as { elicitations: Array<{ url: string }> }).elicitations[0]!.url,
    );
    // Alice consents upstream, but the redirect back is opened in bob's browser.
    const replayed = await openConnectLink(alice.browser, link, 'alice', person('bob').browser);
    assert.equal(replayed.status, 403);
    assert.match(replayed.html, /OAUTH_BROWSER_MISMATCH/);
    // The state was not used up: in alice's own browser the same callback completes.
    const own = await alice.browser.fetch(replayed.callback!.href);
    assert.equal(own.status, 200, await own.text());
    assert.equal(textOf(await client.callTool({ name: 'github__whoami', arguments: {} })), 'alice');
  });

  test('one person’s grant revoked at the authorization server asks only that person again', async () => {
    const [alice, bob] = [await clientOf('alice'), await clientOf('bob')];
    await upstreamAs.revokeGrantsOf('bob');
    mcp.revokeTokensOf('bob');
    // Bob's token is refused, his refresh token too (invalid_grant): he is asked to authorize again.
    const link = await bob.callTool({ name: 'github__whoami', arguments: {} }).then(
      () => assert.fail('bob’s grant was revoked'),
      (error: McpError) => {
        assert.equal(error.code, -32042);
        return (error.data as { elicitations: Array<{ url: string }> }).elicitations[0]!.url;
      },
    );
    assert.ok(upstreamAs.tokenErrors.includes('invalid_grant'));
    assert.equal(textOf(await alice.callTool({ name: 'github__whoami', arguments: {} })), 'alice');
    assert.equal((await openConnectLink(person('bob').browser, link, 'bob')).status, 200);
    assert.equal(textOf(await bob.callTool({ name: 'github__whoami', arguments: {} })), 'bob');
  });

  test('one person disconnecting (revoking) leaves the other’s working', async () => {
    const [alice, bob] = [await clientOf('alice'), await clientOf('bob')];
    await gw.manager.disconnectFor('github', person('alice').subject);
    await assert.rejects(alice.callTool({ name: 'github__whoami', arguments: {} }), (error: McpError) => {
      assert.equal(error.code, -32042);
      return true;
    });
    assert.equal(textOf(await bob.callTool({ name: 'github__whoami', arguments: {} })), 'bob');
    assert.equal(
      upstreamAs.counts.revocations > 0,
      true,
      'alice’s token was revoked at the authorization server',
    );
  });

  test('a per-user stdio server runs one child per person with only that person’s key', async () => {
    const [alice, bob] = [await clientOf('alice'), await clientOf('bob')];
    const failure = await alice.callTool({ name: 'keys__env', arguments: {} }).then(
      () => assert.fail('alice has not set her key'),
      (error: McpError) => error,
    );
    assert.equal(failure.code, -32042);
    assert.match(
      (failure.data as { elicitations: Array<{ url: string }> }).elicitations[0]!.url,
      /#\/my-servers$/,
    );
    await gw.manager.setInputsFor('keys', person('alice').subject, { apiKey: 'alice-key-1' });
    await gw.manager.setInputsFor('keys', person('bob').subject, { apiKey: 'bob-key-2' });
    const envOf = async (client: Client) =>
      JSON.parse(textOf(await client.callTool({ name: 'keys__env', arguments: {} }))) as Record<
        string,
        string
      >;
    const [aliceEnv, bobEnv] = await Promise.all([envOf(alice), envOf(bob)]);
    assert.equal(aliceEnv.API_KEY, 'alice-key-1');
    assert.equal(bobEnv.API_KEY, 'bob-key-2');
    assert.ok(!JSON.stringify(aliceEnv).includes('bob-key-2'));
    assert.ok(!JSON.stringify(bobEnv).includes('alice-key-1'));
    const pidOf = async (client: Client) =>
      (JSON.parse(textOf(await client.callTool({ name: 'keys__pids', arguments: {} }))) as { pid: number })
        .pid;
    assert.notEqual(await pidOf(alice), await pidOf(bob));
    // Nothing of a person's is in the settings file.
    const text = JSON.stringify(await gw.readSettings());
    assert.ok(!text.includes('alice-key-1') && !text.includes('bob-key-2'));
  });
});
