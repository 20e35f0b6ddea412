/**
 * Authorized clients (`#/clients`): the MCP clients people allowed at Gatehouse's own
 * authorization server, one per grant (`GET /api/clients`, never a token), each with Revoke after
 * a confirmation (`DELETE /api/clients/:grantId`: its tokens stop working at once).
 *
 * Whether that authorization server is on: `GET /api/clients` answers 404 when it is not mounted,
 * and otherwise its discovery document (`oauth2/.well-known/openid-configuration`, public) exists
 * only when it is enabled. When it is off the page says which setting turns it on; grants left
 * from a time it was on are still listed, so they can be revoked.
 *
 * `mine: true` is the same screen for a person of the team ("My clients"): on `/api/me/clients`,
 * only the clients they allowed, and no settings to point at (the administrator's business).
 */
import { api, ApiError } from './api.js';
import { facts, h, setText, timeEl, uid } from './dom.js';
import { confirmRevoke } from './revoke-dialog.js';
import { showError } from './server-actions.js';
import { plural, scopeWords } from './words.js';

const when = (iso) => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? '' : timeEl(ms);
};

/** Whether Gatehouse's own authorization server answers its discovery document. */
async function ownServerOn() {
  try {
    await api('oauth2/.well-known/openid-configuration');
    return true;
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 404) return false;
    throw failure;
  }
}

/** The API base and words of the two kinds of the screen. */
const MODES = {
  admin: {
    base: 'api/clients',
    title: 'Authorized clients',
    hint: 'The MCP clients people allowed to use Gatehouse through its own sign-in and consent page. Revoking one ends its access at once; it must ask for consent again.',
  },
  mine: {
    base: 'api/me/clients',
    title: 'My clients',
    hint: 'The MCP clients you allowed to use Gatehouse as you. Revoking one ends its access at once; it must ask for your consent again.',
  },
};

export function mountClients(container, { mine = false } = {}) {
  const mode = mine ? MODES.mine : MODES.admin;
  let alive = true;
  const listTitle = h('h3', { id: uid('clients'), tabindex: '-1', text: 'Clients' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const status = h('p', { class: 'ok-note', role: 'status' });
  const off = h(
    'section',
    { class: 'panel off-note', hidden: true, 'aria-labelledby': 'clients-off-title' },
    h('h3', { id: 'clients-off-title', text: "Gatehouse's own authorization server is off" }),
    mine
      ? h('p', {
          text: 'MCP clients (Claude, ChatGPT-style connectors, Cursor, SDK clients) can sign in here only when it is on; the Gatehouse administrator can turn it on.',
        })
      : h(
          'p',
          {},
          'MCP clients (Claude, ChatGPT-style connectors, Cursor, SDK clients) can sign in here only when it is on. Set ',
          h('code', { text: '"inboundAuth": { "oauth": { "enabled": true } }' }),
          ' in ',
          h('code', { text: 'systemConfig' }),
          ' of mcp_settings.json (',
          h('a', { href: '#/settings', text: 'Settings file' }),
          ') and restart Gatehouse.',
        ),
  );
  const summary = h('p', { class: 'summary', text: 'Loading clients…' });
  const list = h('ul', { class: 'client-list', 'aria-labelledby': listTitle.id });
  const listSection = h('section', { 'aria-labelledby': listTitle.id }, listTitle, summary, list);
  container.append(
    mine ? null : h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: mode.title })),
    h('p', { class: 'hint', text: mode.hint }),
    error,
    status,
    off,
    listSection,
  );

  const load = async () => {
    try {
      let clients = [];
      let on = true;
      try {
        ({ clients = [] } = (await api(mode.base)) ?? {});
        on = await ownServerOn();
      } catch (failure) {
        if (!(failure instanceof ApiError && failure.status === 404)) throw failure;
        on = false;
      }
      if (!alive) return;
      showError(error, null);
      off.hidden = on;
      listSection.hidden = !on && clients.length === 0;
      setText(
        summary,
        clients.length ? plural(clients.length, 'authorized client') : 'No client authorized yet.',
      );
      list.replaceChildren(...clients.map((client) => clientItem(client, { mode, revoked })));
    } catch (failure) {
      if (alive && !(failure instanceof ApiError && failure.status === 401)) {
        setText(summary, '');
        showError(error, failure);
      }
    }
  };
  const revoked = async (name) => {
    setText(status, `${name} revoked: its tokens no longer work.`);
    await load();
    listTitle.focus();
  };

  load();
  return { unmount: () => (alive = false) };
}

function clientItem(client, { mode, revoked }) {
  const name = client.clientName || client.clientId;
  const revoke = h('button', {
    type: 'button',
    class: 'danger',
    text: 'Revoke',
    'aria-label': `Revoke ${name}`,
  });
  revoke.addEventListener('click', () =>
    confirmRevoke({
      title: `Revoke ${name}?`,
      text: `Its access and refresh tokens stop working at once, in open sessions too; to use Gatehouse again it must ask ${client.subject || 'the person'} for consent.`,
      confirm: `Revoke ${name}`,
      action: () => api(`${mode.base}/${encodeURIComponent(client.grantId)}`, { method: 'DELETE' }),
      opener: revoke,
      onDone: () => revoked(name),
    }),
  );
  return h(
    'li',
    { class: 'panel client', dataset: { grant: client.grantId } },
    h('h4', { text: name }),
    facts([
      client.clientName ? ['Client ID', h('code', { text: client.clientId })] : null,
      ['Redirects to', client.redirectHost ?? ''],
      mode === MODES.mine ? null : ['Person', client.subject ?? ''],
      ['Scopes', (client.scopes ?? []).map(scopeWords).join(', ')],
      ['Since', when(client.createdAt)],
      client.expiresAt ? ['Until', when(client.expiresAt)] : null,
    ]),
    h('div', { class: 'actions' }, revoke),
  );
}
