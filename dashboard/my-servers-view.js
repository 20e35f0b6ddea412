/* global document, window */
/**
 * My servers (`#/my-servers`): the servers whose credentials are each person's own
 * (`"credentials": "perUser"`), with the signed-in person's state on each (`GET /api/me/servers`):
 * Connect (the gateway's connect link in a popup, which binds the sign-in to this browser's
 * session before it goes on to the server's sign-in page), Disconnect, and the credentials the
 * server asks people to type in (set or forget; a value is never shown, only whether it is set).
 * For every signed-in session: a person of the team and the administrator alike.
 *
 * There is no live feed for a person (the event stream is the administrator's), so the list is
 * read again while a sign-in window is open, and when the tab comes back into view.
 */
import { api, ApiError } from './api.js';
import { field, h, setText, uid } from './dom.js';
import { busy, showError } from './server-actions.js';
import { clock, plural, toneOf } from './words.js';

const BASE = 'api/me/servers';
/** How often the list is read while a sign-in window may be finishing, and for how long at most. */
const POLL_MS = 1500;
const POLL_FOR_MS = 10 * 60 * 1000;

const pathOf = (name, action) => `${BASE}/${encodeURIComponent(name)}/${action}`;

/** The `transportKind` in words for a person. */
const kindWords = (type) => (type === 'stdio' ? 'program' : 'remote');

/** Whether a person has tokens of their own for the server (Disconnect can revoke them). */
const signedIn = (server) => server.auth?.stage === 'authorized' || server.auth?.token != null;

/** Whether Connect (start the person's own sign-in) can help. */
const canConnect = (server) =>
  server.enabled !== false && server.type !== 'stdio' && server.auth !== undefined && !signedIn(server);

/** One sentence: what the person may do next, or how things stand. */
function nextStep(server) {
  if (server.enabled === false) return 'The administrator has turned this server off.';
  if (server.label === 'Needs credentials') return 'Type in your credentials below to use it.';
  if (server.label === 'Needs sign-in') return 'Click Connect to sign in with your own account.';
  const account = server.auth?.account?.name;
  const as = account ? `Signed in as ${account}` : signedIn(server) ? 'Signed in' : '';
  if (server.label === 'Ready') return `${as ? `${as}. ` : ''}It starts when you first use one of its tools.`;
  return as;
}

/** Mounts the view into `container`. */
export function mountMyServers(container) {
  let alive = true;
  const cards = new Map();
  const listTitle = h('h3', { id: uid('my-servers'), class: 'visually-hidden', text: 'Servers' });
  const summary = h('p', { class: 'summary', text: 'Loading your servers…' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const empty = h('p', {
    class: 'empty',
    hidden: true,
    text: 'No server here asks for your own sign-in: the ones you can use are connected for everyone by the administrator.',
  });
  const list = h('ul', { class: 'cards my-servers', 'aria-labelledby': listTitle.id });
  container.append(
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: 'My servers' })),
    h('p', {
      class: 'hint',
      text: 'On these servers you act as yourself: with your own account or key, which only you can use. What you connect here applies to you alone.',
    }),
    error,
    h('section', { 'aria-labelledby': listTitle.id }, listTitle, summary, empty, list),
  );

  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    try {
      const { servers = [] } = (await api(BASE)) ?? {};
      if (!alive || mine !== generation) return;
      showError(error, null);
      render(servers);
    } catch (failure) {
      if (alive && !(failure instanceof ApiError && failure.status === 401)) {
        setText(summary, '');
        showError(error, failure);
      }
    }
  };

  const render = (servers) => {
    const names = new Set(servers.map((server) => server.server));
    for (const [name, card] of cards) {
      if (names.has(name)) continue;
      card.root.remove();
      cards.delete(name);
    }
    servers.forEach((server, index) => {
      let card = cards.get(server.server);
      if (!card) {
        card = createCard(server.server, { reload: load, watch });
        cards.set(server.server, card);
      }
      if (list.children[index] !== card.root) list.insertBefore(card.root, list.children[index] ?? null);
      updateCard(card, server);
    });
    empty.hidden = servers.length > 0;
    const ready = servers.filter((s) => s.label === 'Connected' || s.label === 'Ready').length;
    setText(summary, servers.length ? `${plural(servers.length, 'server')}, ${ready} ready for you` : '');
  };

  // While a sign-in window may be finishing, the list is read again now and then.
  let pollTimer;
  let pollUntil = 0;
  const poll = () => {
    clearTimeout(pollTimer);
    if (!alive || Date.now() > pollUntil) return;
    pollTimer = setTimeout(async () => {
      await load();
      poll();
    }, POLL_MS);
  };
  const watch = () => {
    pollUntil = Date.now() + POLL_FOR_MS;
    poll();
  };
  const onVisible = () => {
    if (document.visibilityState === 'visible') load();
  };
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('focus', onVisible);

  load();
  return {
    unmount: () => {
      alive = false;
      generation++;
      clearTimeout(pollTimer);
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    },
  };
}

function createCard(name, { reload, watch }) {
  const card = {
    type: h('span', { class: 'type' }),
    badge: h('span', { class: 'badge status' }),
    next: h('p', { class: 'sign-in' }),
    error: h('p', { class: 'error', hidden: true }),
    actionError: h('p', { class: 'action-error error', role: 'alert', hidden: true }),
    key: '',
  };
  card.connect = h('button', {
    type: 'button',
    class: 'connect',
    text: 'Connect',
    'aria-label': `Connect ${name}`,
  });
  card.connect.addEventListener('click', () => connect(name, card, watch));
  card.disconnect = h('button', {
    type: 'button',
    class: 'quiet disconnect',
    text: 'Disconnect',
    'aria-label': `Disconnect ${name}`,
  });
  card.disconnect.addEventListener('click', () =>
    busy(card.disconnect, card.actionError, async () => {
      await api(pathOf(name, 'disconnect'), { method: 'POST' });
      await reload();
    }),
  );
  card.inputs = inputsForm(name, reload);
  card.root = h(
    'li',
    { class: 'card', dataset: { server: name } },
    h(
      'article',
      { 'aria-label': name },
      h('header', { class: 'card-head' }, h('h4', { class: 'name', text: name }), card.type, card.badge),
      card.next,
      card.error,
      h('div', { class: 'actions' }, card.connect, card.disconnect),
      card.actionError,
      card.inputs.root,
    ),
  );
  return card;
}

function updateCard(card, server) {
  const key = JSON.stringify(server);
  if (key === card.key) return;
  card.key = key;
  setText(card.type, kindWords(server.type));
  setText(card.badge, server.label ?? '');
  card.badge.dataset.tone = toneOf(server);
  card.badge.title = [
    `status: ${server.connection?.status ?? 'not running'}`,
    server.auth ? `auth stage: ${server.auth.stage}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const next = nextStep(server);
  setText(card.next, next);
  card.next.hidden = !next;
  // Waiting for the person is said above (what to do), not shown as an error.
  const failure =
    server.auth?.error ?? (server.connection?.status === 'error' ? server.connection.error : undefined);
  const retry = server.connection?.nextRetryAt ? ` Retrying at ${clock(server.connection.nextRetryAt)}.` : '';
  setText(card.error, failure ? `${failure.message} (${failure.code}).${retry}` : '');
  card.error.hidden = !failure;
  card.connect.hidden = !canConnect(server);
  card.disconnect.hidden = !signedIn(server);
  card.inputs.update(server.inputs ?? []);
}

/**
 * Connect: the window is opened inside the click (so popup blockers allow it), with no handle on
 * the dashboard, and sent to the connect link once the gateway answered; when the browser refuses
 * the window, the link is offered instead.
 */
function connect(name, card, watch) {
  const popup = window.open('', '_blank', 'popup,width=520,height=720');
  if (popup) popup.opener = null;
  busy(card.connect, card.actionError, async () => {
    try {
      const { authorizationUrl } = await api(pathOf(name, 'authorize'), { method: 'POST' });
      const url = new URL(authorizationUrl, document.baseURI);
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new Error('the gateway sent a sign-in address that is not http(s)');
      if (popup) popup.location.href = url.href;
      else {
        card.actionError.replaceChildren(
          'The browser blocked the new window. ',
          h('a', { href: url.href, target: '_blank', rel: 'noopener', text: `Sign in to ${name}` }),
        );
        card.actionError.hidden = false;
      }
      watch();
    } catch (failure) {
      popup?.close();
      throw failure;
    }
  });
}

/**
 * The person's own values for the server's `inputs`: one field per input, Save sends the typed
 * ones, Forget drops a stored one (`null`). Fields are emptied once sent; values never come back.
 */
function inputsForm(name, reload) {
  const titleId = uid('creds');
  const fields = h('div', { class: 'input-fields' });
  const save = h('button', { type: 'submit', text: 'Save', 'aria-label': `Save credentials for ${name}` });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const done = h('p', { class: 'ok-note', role: 'status' });
  const form = h(
    'form',
    { class: 'inputs-form', 'aria-labelledby': titleId },
    fields,
    h('div', { class: 'actions' }, save),
    error,
    done,
  );
  const root = h(
    'section',
    { class: 'my-credentials', 'aria-labelledby': titleId, hidden: true },
    h('h5', { id: titleId, text: `Your credentials for ${name}` }),
    h('p', { class: 'hint', text: 'Stored encrypted by Gatehouse for you alone, and never shown again.' }),
    form,
  );
  let key = '';
  let controls = new Map();

  const send = (button, values, message) =>
    busy(button, error, async () => {
      setText(done, '');
      await api(pathOf(name, 'inputs'), { method: 'PUT', body: { values } });
      for (const control of controls.values()) control.input.value = '';
      setText(done, message);
      await reload();
    });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {};
    for (const [id, control] of controls) if (control.input.value !== '') values[id] = control.input.value;
    if (Object.keys(values).length === 0) {
      setText(done, '');
      showError(error, new Error('Type a value first.'));
      return;
    }
    send(save, values, 'Saved.');
  });

  const update = (inputs) => {
    root.hidden = inputs.length === 0;
    const nextKey = JSON.stringify(
      inputs.map(({ id, description, password }) => [id, description, password]),
    );
    if (nextKey !== key) {
      key = nextKey;
      controls = new Map();
      fields.replaceChildren(
        ...inputs.map((input) => {
          const control = {
            input: h('input', {
              type: input.password === false ? 'text' : 'password',
              autocomplete: 'off',
              spellcheck: false,
              dataset: { input: input.id },
            }),
            state: h('span', { class: 'set-state' }),
            forget: h('button', {
              type: 'button',
              class: 'quiet small',
              text: 'Forget',
              'aria-label': `Forget ${input.description ?? input.id} of ${name}`,
            }),
          };
          control.forget.addEventListener('click', () =>
            send(control.forget, { [input.id]: null }, `${input.description ?? input.id} forgotten.`),
          );
          const row = field(
            input.description ? `${input.description} (${input.id})` : input.id,
            control.input,
          );
          row.querySelector('label').append(' ', control.state);
          row.append(control.forget);
          controls.set(input.id, control);
          return row;
        }),
      );
    }
    for (const input of inputs) {
      const control = controls.get(input.id);
      if (!control) continue;
      setText(control.state, input.set ? '— set' : '— not set');
      control.input.placeholder = input.set ? 'set; type to replace' : '';
      control.forget.hidden = !input.set;
    }
  };
  return { root, update };
}
