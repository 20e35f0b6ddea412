/* global document, history, location, window */
/**
 * The Gatehouse dashboard: plain ES modules, no framework, no build step, nothing from a CDN,
 * served under a strict CSP (no inline script or style). This file wires sign-in, the live feed
 * and the screens; each capability lives in its own module.
 */
import { mountAdminOnly } from './admin-only-view.js';
import { describeError, onUnauthorized } from './api.js';
import { renderSettingsStatus } from './banner.js';
import { setText } from './dom.js';
import { mountDetail } from './detail-view.js';
import { startEvents } from './events.js';
import { mountGroups } from './groups-view.js';
import { mountImport } from './import-view.js';
import { mountKeys } from './keys-view.js';
import { mountClients } from './clients-view.js';
import { mountList } from './list-view.js';
import { mountMyServers } from './my-servers-view.js';
import { mountRawEditor } from './raw-editor.js';
import { startRouter } from './router.js';
import { mountAdd, mountEdit } from './server-form.js';
import {
  currentSession,
  signIn,
  signInMethods,
  signOut,
  takeTokenFromUrl,
  TEAM_SIGN_IN_PATH,
} from './session.js';
import { PageState } from './state.js';

const $ = (id) => document.getElementById(id);
const state = new PageState();
let session; // { stopEvents, router, unsubscribe, who } while signed in

const LIVE_TEXT = {
  connecting: 'Connecting to Gatehouse…',
  live: 'Live',
  lost: 'Connection to Gatehouse lost — reconnecting…',
};

const VIEWS = {
  list: (container) => mountList(container, { state }),
  detail: (container, route) => mountDetail(container, { name: route.name, state }),
  edit: (container, route) => mountEdit(container, { name: route.name, state }),
  add: (container) => mountAdd(container, { state }),
  import: (container) => mountImport(container, { state }),
  groups: (container) => mountGroups(container, { state }),
  raw: (container) => mountRawEditor(container, { state }),
  keys: (container) => mountKeys(container, { state }),
  clients: (container) => mountClients(container),
  'my-servers': (container) => mountMyServers(container),
};

/**
 * A person of the team (a `user` session) has their own servers, keys and clients, on /api/me/*;
 * every other route is the administrator's and says so.
 */
const userViews = (who) => {
  const adminOnly = (container) => mountAdminOnly(container, { subject: who.subject });
  return {
    ...Object.fromEntries(Object.keys(VIEWS).map((view) => [view, adminOnly])),
    keys: (container) => mountKeys(container, { state, mine: true }),
    clients: (container) => mountClients(container, { mine: true }),
    'my-servers': (container) => mountMyServers(container),
  };
};

/** The navigation's words for a person of the team; views missing here are hidden from them. */
const USER_NAV = { 'my-servers': 'My servers', keys: 'My keys', clients: 'My clients' };

function showNotice(text) {
  setText($('notice'), text ?? '');
  $('notice').hidden = !text;
}

function renderLive() {
  const live = $('live');
  setText(live, LIVE_TEXT[state.live]);
  live.dataset.state = state.live;
  document.body.classList.toggle('stale', state.live === 'lost');
}

/** Shows the links `who` may use (all of them for the admin), with their words. */
function renderNav(who) {
  for (const link of document.querySelectorAll('#nav a')) {
    link.dataset.text ??= link.textContent;
    const mine = who.role === 'user' ? USER_NAV[link.dataset.view] : undefined;
    link.closest('li').hidden = who.role === 'user' && mine === undefined;
    setText(link, mine ?? link.dataset.text);
  }
  // The brand's link goes home: for a person of the team that is their keys, not the server list.
  document.querySelector('.brand a').setAttribute('href', who.role === 'user' ? '#/keys' : '#/');
  setText($('who'), who.role === 'user' ? `Signed in as ${who.subject}` : 'Signed in as the administrator');
}

function markNav(route) {
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === route.view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Opens the dashboard for `who` (`{ subject, role }` of the session). */
function enter(who) {
  if (session) return;
  const admin = who.role !== 'user';
  showNotice('');
  $('login').hidden = true;
  renderNav(who);
  for (const id of ['nav', 'who', 'sign-out', 'view']) $(id).hidden = false;
  // The live feed is the servers' state: the administrator's business only (the gateway would
  // refuse a person's /api/events anyway).
  $('live').hidden = !admin;
  state.clear();
  if (admin) renderLive();
  // The gateway sends a person back from the company's provider to the bare address, which is the
  // server list: their home is their keys instead (replaced, so Back does not return to it).
  if (!admin && /^#?\/?$/.test(location.hash)) history.replaceState(history.state, '', '#/keys');
  const router = startRouter($('view'), admin ? VIEWS : userViews(who), { onChange: markNav });
  const unsubscribe = state.subscribe((change) => {
    if (change.kind === 'live') renderLive();
    if (change.kind === 'settings') renderSettingsStatus(state.settings);
    router.update(change);
  });
  const stopEvents = admin
    ? startEvents(state, { onSignedOut: () => leave('Your session ended. Sign in again.') })
    : () => undefined;
  session = { router, unsubscribe, stopEvents, who };
}

/** Stops the screens and the live feed of the current session, if any. */
function close() {
  if (!session) return;
  session.stopEvents();
  session.unsubscribe();
  session.router.stop();
  session = undefined;
}

/** Back to the sign-in form: everything known about the servers is dropped from the page. */
function leave(message) {
  close();
  state.clear();
  renderSettingsStatus(undefined);
  for (const id of ['nav', 'live', 'who', 'sign-out', 'view']) $(id).hidden = true;
  document.body.classList.remove('stale');
  showNotice(message);
  $('login').hidden = false;
  $('token-input').focus();
  showSignInMethods();
}

/** Offers the company's provider beside the admin token when the gateway has team sign-in. */
async function showSignInMethods() {
  const { team } = await signInMethods();
  const link = $('team-sign-in');
  link.setAttribute('href', TEAM_SIGN_IN_PATH);
  setText(link, team ? `Sign in with ${team.provider}` : 'Sign in');
  $('team-login').hidden = !team || Boolean(session);
}

async function exchange(token) {
  try {
    await signIn(token);
    const who = await currentSession();
    if (!who) throw new Error('the new session was not found');
    // The printed address opened in a tab where a person of the team was signed in: the new
    // session is the administrator's, and so must be the screens.
    if (session && session.who.role !== who.role) close();
    enter(who);
  } catch (error) {
    leave(
      error?.status === 401
        ? `The admin token was refused (${error.code}). Paste the current one.`
        : `Could not sign in. ${describeError(error)}`,
    );
  }
}

onUnauthorized(() => {
  if (session) leave('Your session ended. Sign in again.');
});

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token-input');
  const token = input.value.trim();
  // The token is not kept in the DOM (or anywhere) once sent.
  input.value = '';
  if (token) exchange(token);
});

$('sign-out').addEventListener('click', async () => {
  try {
    await signOut();
    leave('Signed out.');
  } catch (error) {
    showNotice(`Could not sign out. ${describeError(error)}`);
  }
});

// The skip link must not change the address (the address is the route).
document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  $('main').focus();
});

// A printed URL pasted into an open tab (the gateway restarted with a new token).
window.addEventListener('hashchange', () => {
  const token = takeTokenFromUrl();
  if (token) exchange(token);
});

async function boot() {
  const token = takeTokenFromUrl();
  if (token) return exchange(token);
  try {
    const who = await currentSession();
    if (who) enter(who);
    else leave('');
  } catch (error) {
    leave(`Gatehouse did not answer. ${describeError(error)}`);
  }
}

boot();
