/* global document, window */
/**
 * The Gatehouse dashboard: plain ES modules, no framework, no build step, nothing from a CDN,
 * served under a strict CSP (no inline script or style). This file wires sign-in, the live feed
 * and the screens; each capability lives in its own module.
 */
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
import { mountRawEditor } from './raw-editor.js';
import { startRouter } from './router.js';
import { mountAdd, mountEdit } from './server-form.js';
import { isSignedIn, signIn, signOut, takeTokenFromUrl } from './session.js';
import { PageState } from './state.js';

const $ = (id) => document.getElementById(id);
const state = new PageState();
let session; // { stopEvents, router, unsubscribe } while signed in

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
};

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

function markNav(route) {
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === route.view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function enter() {
  if (session) return;
  showNotice('');
  $('login').hidden = true;
  for (const id of ['nav', 'live', 'sign-out', 'view']) $(id).hidden = false;
  state.clear();
  renderLive();
  const router = startRouter($('view'), VIEWS, { onChange: markNav });
  const unsubscribe = state.subscribe((change) => {
    if (change.kind === 'live') renderLive();
    if (change.kind === 'settings') renderSettingsStatus(state.settings);
    router.update(change);
  });
  const stopEvents = startEvents(state, { onSignedOut: () => leave('Your session ended. Sign in again.') });
  session = { router, unsubscribe, stopEvents };
}

/** Back to the sign-in form: everything known about the servers is dropped from the page. */
function leave(message) {
  if (session) {
    session.stopEvents();
    session.unsubscribe();
    session.router.stop();
    session = undefined;
  }
  state.clear();
  renderSettingsStatus(undefined);
  for (const id of ['nav', 'live', 'sign-out', 'view']) $(id).hidden = true;
  document.body.classList.remove('stale');
  showNotice(message);
  $('login').hidden = false;
  $('token-input').focus();
}

async function exchange(token) {
  try {
    await signIn(token);
    enter();
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
    if (await isSignedIn()) enter();
    else leave('');
  } catch (error) {
    leave(`Gatehouse did not answer. ${describeError(error)}`);
  }
}

boot();
