/**
 * The server list: one card per server, in words for people, updated in place from the live
 * feed (a card moves only when the order changed: moving a node drops keyboard focus inside it).
 */
import { h, setText } from './dom.js';
import { serverHref } from './router.js';
import {
  canConnect,
  labelOf,
  needsCredentials,
  perPersonLine,
  plural,
  rawCodes,
  signInLine,
  toneOf,
} from './words.js';
import { connectButton, reconnectButton } from './server-actions.js';

/** Mounts the list into `container`; `state` is the PageState. */
export function mountList(container, { state }) {
  const cards = new Map();
  const heading = h('h2', { tabindex: '-1', id: 'servers-title', text: 'Servers' });
  const summary = h('p', { class: 'summary', id: 'servers-summary' });
  const empty = h(
    'p',
    { class: 'empty', hidden: true },
    'No servers yet. ',
    h('a', { href: '#/add', text: 'Add a server' }),
    ' or ',
    h('a', { href: '#/import', text: 'paste a configuration' }),
    '.',
  );
  const loading = h('p', { class: 'muted', text: 'Loading servers…' });
  const list = h('ul', { class: 'cards', id: 'servers', 'aria-labelledby': 'servers-title' });
  container.append(
    h('div', { class: 'view-head' }, heading, h('a', { class: 'button', href: '#/add', text: 'Add server' })),
    summary,
    loading,
    empty,
    list,
  );

  const render = () => {
    loading.hidden = state.loaded;
    const servers = [...state.servers.values()];
    for (const [name, card] of cards) {
      if (!state.servers.has(name)) {
        card.root.remove();
        cards.delete(name);
      }
    }
    servers.forEach((server, index) => {
      let card = cards.get(server.name);
      if (!card) {
        card = createCard(server.name);
        cards.set(server.name, card);
      }
      if (list.children[index] !== card.root) list.insertBefore(card.root, list.children[index] ?? null);
      updateCard(card, server);
    });
    empty.hidden = !state.loaded || servers.length > 0;
    const connected = servers.filter((s) => s.status === 'connected').length;
    setText(summary, state.loaded ? `${plural(servers.length, 'server')}, ${connected} connected` : '');
  };

  render();
  return {
    update: (change) => {
      if (change.kind === 'server') {
        const card = cards.get(change.name);
        if (card) return updateCard(card, state.servers.get(change.name));
      }
      if (change.kind !== 'settings' && change.kind !== 'live') render();
    },
  };
}

function createCard(name) {
  const link = h('a', { href: serverHref(name), class: 'name', text: name });
  const card = {
    name,
    type: h('span', { class: 'type' }),
    badge: h('span', { class: 'badge status' }),
    signIn: h('p', { class: 'sign-in' }),
    error: h('p', { class: 'error', hidden: true }),
    tools: h('dd', { class: 'tool-count' }),
    perPerson: h('dd', { class: 'per-person' }),
    actions: h('div', { class: 'actions' }),
    actionError: h('p', { class: 'action-error error', role: 'alert', hidden: true }),
    key: '',
  };
  card.connect = connectButton(name, card.actionError);
  card.reconnect = reconnectButton(name, card.actionError);
  card.credentials = h('a', {
    class: 'button',
    href: `${serverHref(name)}`,
    text: 'Set credentials',
    'aria-label': `Set credentials for ${name}`,
  });
  card.details = h('a', {
    class: 'button quiet',
    href: serverHref(name),
    text: 'Details',
    'aria-label': `Details of ${name}`,
  });
  card.actions.append(card.connect, card.credentials, card.reconnect, card.details);
  card.root = h(
    'li',
    { class: 'card', dataset: { server: name } },
    h(
      'article',
      { 'aria-label': name },
      h('header', { class: 'card-head' }, h('h3', {}, link), card.type, card.badge),
      card.signIn,
      card.error,
      h(
        'dl',
        { class: 'facts' },
        h('div', {}, h('dt', { text: 'Tools' }), card.tools),
        h('div', { hidden: true }, h('dt', { text: 'Per person' }), card.perPerson),
      ),
      card.actions,
      card.actionError,
    ),
  );
  return card;
}

function updateCard(card, server) {
  const key = JSON.stringify(server);
  if (key === card.key) return;
  card.key = key;
  setText(card.type, server.type);
  setText(card.badge, labelOf(server));
  card.badge.dataset.tone = toneOf(server);
  card.badge.dataset.status = server.status;
  card.badge.title = rawCodes(server);
  const line = signInLine(server);
  setText(card.signIn, line ?? '');
  card.signIn.hidden = !line;

  const error = server.error && server.status !== 'auth_required' ? server.error : undefined;
  setText(card.error, error ? `${error.message} (${error.code})` : '');
  card.error.hidden = !error;

  const tools = server.tools ?? [];
  const enabled = tools.filter((t) => t.enabled).length;
  setText(
    card.tools,
    enabled === tools.length ? String(tools.length) : `${tools.length} (${enabled} enabled)`,
  );

  const perPerson = perPersonLine(server);
  setText(card.perPerson, perPerson ?? '');
  card.perPerson.parentElement.hidden = !perPerson;

  card.connect.hidden = !canConnect(server);
  card.credentials.hidden = !needsCredentials(server);
  card.reconnect.hidden = server.status === 'disabled' || server.enabled === false;
}
