/**
 * The session pieces as pure code: idle expiry of the in-memory store, the Cookie header parser,
 * the cookie attributes, and which Origins count as the gateway's own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN_SESSION,
  clearedSessionCookie,
  isMutatingMethod,
  MemoryAdminSessions,
  originAllowed,
  sessionCookie,
  sessionIdFromCookie,
} from '../../server/security/admin-session.js';

test('a session ends after the idle time without requests; each request restarts it', async () => {
  let now = 1_000_000;
  const sessions = new MemoryAdminSessions({ idleMs: 1000, now: () => now });
  const id = await sessions.create(ADMIN_SESSION);
  now += 999;
  assert.deepEqual(await sessions.touch(id), ADMIN_SESSION, 'within the idle time');
  now += 999;
  assert.deepEqual(await sessions.touch(id), ADMIN_SESSION, 'the last request restarted the idle time');
  now += 1000;
  assert.equal(await sessions.touch(id), undefined, 'idle for the whole idle time: ended');
  now += 1;
  assert.equal(await sessions.touch(id), undefined, 'and it stays ended');
});

test('a session remembers who it is: the admin, or a person with the user role', async () => {
  const sessions = new MemoryAdminSessions();
  const admin = await sessions.create(ADMIN_SESSION);
  const alice = await sessions.create({ subject: 'alice@example.com', role: 'user' });
  assert.deepEqual(await sessions.touch(admin), { subject: 'admin', role: 'admin' });
  assert.deepEqual(await sessions.touch(alice), { subject: 'alice@example.com', role: 'user' });
});

test('the default idle time is 12 hours', async () => {
  let now = 0;
  const sessions = new MemoryAdminSessions({ now: () => now });
  const id = await sessions.create(ADMIN_SESSION);
  now = 12 * 60 * 60 * 1000 - 1;
  assert.deepEqual(await sessions.touch(id), ADMIN_SESSION);
  now += 12 * 60 * 60 * 1000;
  assert.equal(await sessions.touch(id), undefined);
});

test('ended and expired sessions are dropped from memory; ids are 32 random bytes', async () => {
  let now = 0;
  const sessions = new MemoryAdminSessions({ idleMs: 10, now: () => now });
  const a = await sessions.create(ADMIN_SESSION);
  const b = await sessions.create(ADMIN_SESSION);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  await sessions.end(a);
  assert.equal(await sessions.touch(a), undefined);
  assert.equal(sessions.size, 1);
  now = 10;
  assert.equal(sessions.size, 0, 'expired sessions do not pile up');
  assert.equal(await sessions.touch(b), undefined);
});

test('the session id is read from a Cookie header among other cookies; odd values are none', () => {
  const id = 'abcDEF0123456789_-abcDEF0123456789_-abcDEF0';
  assert.equal(sessionIdFromCookie(`a=1; gatehouse_session=${id}; b=2`), id);
  assert.equal(sessionIdFromCookie(`gatehouse_session=${id}`), id);
  assert.equal(sessionIdFromCookie('other=1'), undefined);
  assert.equal(sessionIdFromCookie(undefined), undefined);
  assert.equal(sessionIdFromCookie('gatehouse_session='), undefined);
  assert.equal(sessionIdFromCookie('gatehouse_session=has space or; semi'), undefined);
  assert.equal(sessionIdFromCookie('xgatehouse_session=' + id), undefined);
});

test('the cookie: HttpOnly, SameSite=Strict, Path=/, and Secure only over https', () => {
  assert.equal(sessionCookie('ID', false), 'gatehouse_session=ID; HttpOnly; SameSite=Strict; Path=/');
  assert.equal(sessionCookie('ID', true), 'gatehouse_session=ID; HttpOnly; SameSite=Strict; Path=/; Secure');
  assert.match(
    clearedSessionCookie(false),
    /^gatehouse_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/,
  );
});

test('only the gateway’s own origin counts: the request’s scheme and Host, or baseUrl’s origin', () => {
  const request = { protocol: 'http', host: 'localhost:3000' };
  assert.equal(originAllowed('http://localhost:3000', request, undefined), true);
  assert.equal(originAllowed('http://localhost:3001', request, undefined), false);
  assert.equal(originAllowed('https://localhost:3000', request, undefined), false, 'another scheme');
  assert.equal(originAllowed('http://127.0.0.1:3000', request, undefined), false, 'another host name');
  assert.equal(originAllowed('http://evil.example', request, undefined), false);
  assert.equal(originAllowed(undefined, request, undefined), false);
  assert.equal(originAllowed('null', request, undefined), false);
  assert.equal(originAllowed('not a url', request, undefined), false);
  assert.equal(originAllowed('https://gw.example.com', request, 'https://gw.example.com/base/'), true);
  assert.equal(originAllowed('https://gw.example.com:8443', request, 'https://gw.example.com/'), false);
  assert.equal(
    originAllowed('https://gw.example.com', { protocol: 'http', host: undefined }, undefined),
    false,
  );
});

test('GET, HEAD and OPTIONS read; every other method changes something', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS']) assert.equal(isMutatingMethod(method), false, method);
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
    assert.equal(isMutatingMethod(method), true, method);
});
