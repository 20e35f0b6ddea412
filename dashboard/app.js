/* global document, window, location, history, sessionStorage, URLSearchParams */
/**
 * The Gatehouse dashboard: no framework, no build step. It reads the admin token from the URL
 * fragment (never sent to a server), keeps it in sessionStorage, and polls the admin API.
 * Every piece of server data reaches the page through textContent or attributes, never as markup:
 * server names, error messages and log details can carry text an upstream or a settings file chose.
 */

const TOKEN_KEY = 'gatehouse.adminToken';
const POLL_MS = 2000;
/** Auth stages from which a person can (re)start the OAuth flow. */
const CONNECTABLE = new Set(['awaiting_user', 'failed']);

const $ = (id) => document.getElementById(id);
const state = { token: null, timer: undefined, generation: 0, cards: new Map() };

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Moves `#token=…` from the address bar into sessionStorage, so it is not left in history or bookmarks. */
function takeTokenFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(
      history.state,
      '',
      `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`,
    );
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Calls the admin API; a non-2xx answer becomes an ApiError carrying the API's stable code. */
async function api(path, method = 'GET') {
  const response = await fetch(path, {
    method,
    cache: 'no-store',
    headers: { authorization: `Bearer ${state.token}`, accept: 'application/json' },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.error;
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? '');
  }
  return body;
}

const serverPath = (name) => `api/servers/${encodeURIComponent(name)}`;
const describeError = (error) =>
  error instanceof ApiError ? `${error.code}: ${error.message}` : String(error?.message ?? error);

/** Writes only on change: no needless DOM churn, no lost text selection, no repeated announcements. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeEl(ms) {
  const node = el('time', '', new Date(ms).toLocaleString());
  node.dateTime = new Date(ms).toISOString();
  return node;
}

function showNotice(text) {
  const notice = $('notice');
  setText(notice, text ?? '');
  notice.hidden = !text;
}

/** A refused token, or none: forget it and ask for one. */
function showLogin(message) {
  state.generation++;
  clearTimeout(state.timer);
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  state.cards.clear();
  $('servers').replaceChildren();
  $('servers-section').hidden = true;
  $('settings-banner').hidden = true;
  $('settings-notes').hidden = true;
  $('forget').hidden = true;
  setText($('summary'), '');
  showNotice(message);
  $('login').hidden = false;
  $('token-input').focus();
}

function startSession(token) {
  state.token = token;
  state.generation++;
  $('login').hidden = true;
  $('servers-section').hidden = false;
  $('forget').hidden = false;
  showNotice('');
  poll();
}

/** Returns true when the error meant "wrong token" and the login form is now showing. */
function handleAuthFailure(error) {
  if (!(error instanceof ApiError) || error.status !== 401) return false;
  showLogin(`The admin token was refused (${error.code}). Paste the current one.`);
  return true;
}

async function poll() {
  const generation = state.generation;
  clearTimeout(state.timer);
  try {
    const [servers, settings] = await Promise.all([
      api('api/servers'),
      // The banner is extra: a failure here must not hide the servers.
      api('api/settings/status').catch(() => undefined),
    ]);
    if (generation !== state.generation) return;
    showNotice('');
    render(servers);
    renderSettingsStatus(settings);
    await refreshOpenDetails(generation);
  } catch (error) {
    if (generation !== state.generation || handleAuthFailure(error)) return;
    showNotice(`Could not load servers. ${describeError(error)}`);
  }
  if (generation === state.generation) state.timer = setTimeout(poll, POLL_MS);
}

const placeOf = (p) =>
  [p.path, p.line ? `line ${p.line}, column ${p.column}` : ''].filter(Boolean).join(', ');

/**
 * A rejected edit of the settings file is a banner until the file is valid again; keys Gatehouse
 * keeps but ignores are a quieter note. All of it is text.
 */
function renderSettingsStatus(status) {
  if (!status) return;
  const { rejected, warnings = [] } = status;
  const banner = $('settings-banner');
  banner.hidden = !rejected;
  if (rejected) {
    setText(
      $('settings-banner-title'),
      `Your last edit of ${status.file} was not applied (${rejected.code}, ${new Date(rejected.at).toLocaleTimeString()}); the last good settings are live.`,
    );
    const lines = rejected.problems.length
      ? rejected.problems.map((p) => `${placeOf(p)}: ${p.message}`)
      : [rejected.message];
    const key = JSON.stringify(lines);
    if (key !== state.bannerKey) {
      state.bannerKey = key;
      $('settings-problems').replaceChildren(...lines.map((line) => el('li', '', line)));
    }
  }
  const notes = $('settings-notes');
  notes.hidden = warnings.length === 0;
  setText(
    $('settings-notes-summary'),
    `${warnings.length} key${warnings.length === 1 ? '' : 's'} in the settings file ${warnings.length === 1 ? 'is' : 'are'} kept but not used`,
  );
  const notesKey = JSON.stringify(warnings);
  if (notesKey !== state.notesKey) {
    state.notesKey = notesKey;
    $('settings-notes-list').replaceChildren(...warnings.map((w) => el('li', '', `${w.path}: ${w.message}`)));
  }
}

function render(servers) {
  const list = $('servers');
  const names = new Set(servers.map((s) => s.name));
  for (const [name, card] of state.cards) {
    if (!names.has(name)) {
      card.root.remove();
      state.cards.delete(name);
    }
  }
  servers.forEach((server, index) => {
    let card = state.cards.get(server.name);
    if (!card) {
      card = createCard(server.name);
      state.cards.set(server.name, card);
    }
    // Move a card only when the order changed: moving a node drops keyboard focus inside it.
    if (list.children[index] !== card.root) list.insertBefore(card.root, list.children[index] ?? null);
    updateCard(card, server);
  });
  $('empty').hidden = servers.length > 0;
  const connected = servers.filter((s) => s.status === 'connected').length;
  setText(
    $('summary'),
    `${servers.length} server${servers.length === 1 ? '' : 's'}, ${connected} connected · updated ${new Date().toLocaleTimeString()}`,
  );
}

function createCard(name) {
  const root = $('card-template').content.firstElementChild.cloneNode(true);
  const q = (selector) => root.querySelector(selector);
  const card = {
    name,
    root,
    type: q('.type'),
    status: q('.status'),
    authRow: q('.auth-row'),
    authStage: q('.auth-stage'),
    toolCount: q('.tool-count'),
    error: q('.error'),
    actionError: q('.action-error'),
    connect: q('.connect'),
    disconnect: q('.disconnect'),
    reconnect: q('.reconnect'),
    toolList: q('.tool-list'),
    detail: q('.detail'),
    detailBody: q('.detail-body'),
    toolsKey: '',
    detailKey: '',
  };
  root.dataset.server = name;
  q('.name').textContent = name;
  for (const button of [card.connect, card.disconnect, card.reconnect]) {
    button.setAttribute('aria-label', `${button.textContent} ${name}`);
  }
  card.connect.addEventListener('click', () => connect(card));
  card.disconnect.addEventListener('click', () => act(card, card.disconnect, 'disconnect'));
  card.reconnect.addEventListener('click', () => act(card, card.reconnect, 'reconnect'));
  card.detail.addEventListener('toggle', () => {
    if (card.detail.open) loadDetail(card, state.generation);
  });
  return card;
}

function updateCard(card, s) {
  setText(card.type, s.type);
  setText(card.status, s.status);
  card.status.dataset.value = s.status;
  card.authRow.hidden = !s.auth;
  if (s.auth) {
    setText(card.authStage, s.auth.stage);
    card.authStage.dataset.value = s.auth.stage;
  }
  const enabledTools = s.tools.filter((t) => t.enabled).length;
  setText(
    card.toolCount,
    enabledTools === s.tools.length ? String(s.tools.length) : `${s.tools.length} (${enabledTools} enabled)`,
  );
  let error = s.error ? `${s.error.code}: ${s.error.message}` : '';
  if (s.nextRetryAt) error += ` · next retry at ${new Date(s.nextRetryAt).toLocaleTimeString()}`;
  setText(card.error, error);
  card.error.hidden = !error;

  const stage = s.auth?.stage;
  // Every HTTP server has an auth stage; "unauthenticated" means no server asked for OAuth (yet).
  // A server that is merely down gets Reconnect, not Connect: authorizing cannot help it.
  card.connect.hidden = !(s.status === 'auth_required' || CONNECTABLE.has(stage));
  card.disconnect.hidden = stage !== 'authorized';
  card.reconnect.hidden = s.status === 'disabled';

  const toolsKey = JSON.stringify(s.tools);
  if (toolsKey !== card.toolsKey) {
    card.toolsKey = toolsKey;
    card.toolList.replaceChildren(
      ...s.tools.map((tool) => {
        const item = el('li', tool.enabled ? '' : 'off');
        item.append(el('code', '', tool.exposedName));
        if (tool.description) item.append(` ${tool.description}`);
        if (!tool.enabled) item.append(el('em', '', ' (disabled)'));
        return item;
      }),
    );
    if (s.tools.length === 0) card.toolList.append(el('li', '', 'No tools.'));
  }
}

async function refreshOpenDetails(generation) {
  const open = [...state.cards.values()].filter((card) => card.detail.open);
  await Promise.all(open.map((card) => loadDetail(card, generation)));
}

async function loadDetail(card, generation) {
  try {
    const detail = await api(serverPath(card.name));
    if (generation === state.generation) renderDetail(card, detail);
  } catch (error) {
    if (generation !== state.generation || handleAuthFailure(error)) return;
    card.detailKey = '';
    card.detailBody.replaceChildren(el('p', 'error', describeError(error)));
  }
}

function renderDetail(card, d) {
  const key = JSON.stringify(d);
  if (key === card.detailKey) return;
  card.detailKey = key;
  const facts = el('dl', 'facts');
  const fact = (term, ...value) => {
    const row = el('div');
    const dd = el('dd');
    dd.append(...value);
    row.append(el('dt', '', term), dd);
    facts.append(row);
  };
  if (d.connectedSince) fact('Connected since', timeEl(d.connectedSince));
  const parts = [];
  if (d.auth) {
    const { client, token, error } = d.auth;
    fact('Client', client ? `${client.method}${client.issuer ? ` at ${client.issuer}` : ''}` : 'none yet');
    if (token) {
      fact('Token expires', token.expiresAt ? timeEl(token.expiresAt) : 'no expiry given');
      fact('Scopes', token.scopes.length ? token.scopes.join(' ') : 'none');
      fact('Last refresh', token.lastRefreshAt ? timeEl(token.lastRefreshAt) : 'never');
    } else fact('Token', 'none');
    if (error) fact('Auth error', `${error.code}: ${error.message}`);
  }
  parts.push(facts);
  if (d.auth) {
    parts.push(el('h4', '', 'Auth events'));
    const log = el('ol', 'log');
    for (const event of d.auth.log) {
      const item = el('li');
      const stage = el('span', 'badge', event.stage);
      stage.dataset.value = event.stage;
      item.append(timeEl(event.at), ' ', stage, ' ', el('span', '', event.detail));
      log.append(item);
    }
    if (d.auth.log.length === 0) log.append(el('li', '', 'No events yet.'));
    parts.push(log);
  }
  if (Array.isArray(d.stderr)) {
    parts.push(el('h4', '', 'stderr'));
    parts.push(el('pre', 'stderr', d.stderr.length ? d.stderr.join('\n') : 'No output.'));
  }
  card.detailBody.replaceChildren(...parts);
}

function showActionError(card, error) {
  setText(card.actionError, error ? describeError(error) : '');
  card.actionError.hidden = !error;
}

async function act(card, button, action) {
  button.disabled = true;
  showActionError(card, null);
  try {
    await api(`${serverPath(card.name)}/${action}`, 'POST');
  } catch (error) {
    if (!handleAuthFailure(error)) showActionError(card, error);
  } finally {
    button.disabled = false;
  }
  if (state.token) poll();
}

/** The browser refused the new window: offer the authorization URL as a link to open by hand. */
function offerLink(card, href) {
  const link = el('a', '', 'Open the authorization page');
  link.href = href;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  card.actionError.replaceChildren('The browser blocked the new window. ', link);
  card.actionError.hidden = false;
}

async function connect(card) {
  // Opened inside the click so popup blockers allow it; navigated once the URL is known.
  const popup = window.open('', '_blank');
  // The authorization server's page must not be able to reach back into the dashboard.
  if (popup) popup.opener = null;
  card.connect.disabled = true;
  showActionError(card, null);
  try {
    const { authorizationUrl } = await api(`${serverPath(card.name)}/authorize`, 'POST');
    const url = new URL(authorizationUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new Error('unexpected authorization URL');
    if (popup) popup.location.href = url.href;
    else offerLink(card, url.href);
  } catch (error) {
    popup?.close();
    if (!handleAuthFailure(error)) showActionError(card, error);
  } finally {
    card.connect.disabled = false;
  }
  if (state.token) poll();
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token-input');
  const token = input.value.trim();
  if (!token) return;
  input.value = '';
  sessionStorage.setItem(TOKEN_KEY, token);
  startSession(token);
});
$('forget').addEventListener('click', () => showLogin(''));
// A new `#token=…` pasted into this tab (the gateway restarted with a new token).
window.addEventListener('hashchange', () => {
  const token = new URLSearchParams(location.hash.slice(1)).has('token') && takeTokenFromUrl();
  if (token) startSession(token);
});

const token = takeTokenFromUrl();
if (token) startSession(token);
else showLogin('');
