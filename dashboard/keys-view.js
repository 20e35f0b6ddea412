/* global CSS, document, location, navigator, window */
/**
 * API keys (`#/keys`): the keys scripts and agents send on /mcp (`GET /api/keys`, never a
 * secret), Revoke after a confirmation (`DELETE /api/keys/:id`), and a form for a new one
 * (`POST /api/keys`) whose secret is shown once.
 *
 * `mine: true` is the same screen for a person of the team ("My keys"): on `/api/me/keys`, only
 * the keys acting as them, and no "Acts as" field (a key they make acts as them). Their session
 * reaches neither the server list nor the groups, so the only scope they can choose is Everything;
 * what a key may use upstream is still what the person may use.
 *
 * The secret lives only in the read-only field that shows it: not in a variable of this module,
 * not in the page state, not in the browser's storage. Leaving the screen (another route, sign
 * out, closing or reloading the tab, the page going into the back-forward cache) empties the
 * field and drops it.
 */
import { api, ApiError, describeError } from './api.js';
import { facts, field, h, setText, timeEl, uid } from './dom.js';
import { confirmRevoke } from './revoke-dialog.js';
import { busy, showError } from './server-actions.js';
import { plural, scopeWords } from './words.js';

const ALL = 'mcp:all';

/** A list of groups from `GET /api/groups` (`[{ name, servers }]` or `{ name: { servers } }`). */
const groupNames = (answer) => {
  const groups = answer?.groups ?? answer ?? {};
  return Array.isArray(groups) ? groups.map((g) => g.name) : Object.keys(groups);
};

/** An ISO time as a `<time>`, or the words for "none". */
const when = (iso, none) => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? none : timeEl(ms);
};

/** The API base and words of the two kinds of the screen. */
const MODES = {
  admin: {
    base: 'api/keys',
    title: 'API keys',
    hint: 'Scripts and agents send an API key on /mcp instead of signing in. A key sees and calls only what its scopes name, and acts upstream as the person it names.',
  },
  mine: {
    base: 'api/me/keys',
    title: 'My API keys',
    hint: 'Your scripts and agents send an API key on /mcp instead of signing in. A key acts as you: it sees and calls what you may use.',
  },
};

export function mountKeys(container, { state, mine = false }) {
  const mode = mine ? MODES.mine : MODES.admin;
  let alive = true;
  const heading = h('h2', { tabindex: '-1', text: mode.title });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const status = h('p', { class: 'ok-note', role: 'status' });
  const secretSlot = h('div');
  const listTitle = h('h3', { id: uid('keys'), tabindex: '-1', text: 'Keys' });
  const summary = h('p', { class: 'summary', text: 'Loading keys…' });
  const list = h('ul', { class: 'key-list', 'aria-labelledby': listTitle.id });
  const form = keyForm(state, {
    mode,
    created: (answer) => {
      showSecret(secretSlot, answer);
      setText(status, '');
      load();
    },
  });
  container.append(
    mine ? null : h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, heading),
    h('p', { class: 'hint', text: mode.hint }),
    error,
    status,
    secretSlot,
    h('section', { class: 'keys', 'aria-labelledby': listTitle.id }, listTitle, summary, list),
    form.root,
  );

  const load = async () => {
    try {
      const { keys = [] } = (await api(mode.base)) ?? {};
      if (!alive) return;
      showError(error, null);
      setText(summary, keys.length ? plural(keys.length, 'key') : 'No API keys yet.');
      list.replaceChildren(...keys.map((key) => keyItem(key, { mode, revoked })));
    } catch (failure) {
      if (alive && !(failure instanceof ApiError && failure.status === 401)) {
        setText(summary, '');
        showError(error, failure);
      }
    }
  };
  const revoked = async (key) => {
    setText(status, `Key ${key.name} revoked: it is refused from now on.`);
    await load();
    listTitle.focus();
  };

  // A page put into the back-forward cache would come back with the secret still on screen.
  const forget = () => forgetSecret(secretSlot);
  window.addEventListener('pagehide', forget);
  load();
  if (!mine) form.loadGroups(() => alive);
  return {
    update: (change) => {
      if (['servers', 'server', 'removed'].includes(change.kind)) form.renderScopes();
    },
    unmount: () => {
      alive = false;
      window.removeEventListener('pagehide', forget);
      forget();
    },
  };
}

function keyItem(key, { mode, revoked }) {
  const headingId = uid('key');
  const revoke = h('button', {
    type: 'button',
    class: 'danger',
    text: 'Revoke',
    'aria-label': `Revoke ${key.name}`,
  });
  revoke.addEventListener('click', () =>
    confirmRevoke({
      title: `Revoke ${key.name}?`,
      text: 'Every script or agent using this key is refused from its next request on, in open sessions too. This cannot be undone.',
      confirm: `Revoke ${key.name}`,
      action: () => api(`${mode.base}/${encodeURIComponent(key.id)}`, { method: 'DELETE' }),
      opener: revoke,
      onDone: () => revoked(key),
    }),
  );
  return h(
    'li',
    { class: 'panel key', dataset: { key: key.id } },
    h('h4', { id: headingId, text: key.name }),
    facts([
      ['Scopes', (key.scopes ?? []).map(scopeWords).join(', ')],
      mode === MODES.mine ? null : ['Acts as', key.user ?? ''],
      ['Created', when(key.createdAt, '')],
      ['Expires', when(key.expiresAt, 'Never')],
      ['Last used', when(key.lastUsedAt, 'Never')],
    ]),
    h('div', { class: 'actions' }, revoke),
  );
}

/** The new key's secret, once: a read-only field, Copy, and how to use it. */
function showSecret(slot, { key, secret }) {
  forgetSecret(slot);
  const titleId = uid('secret');
  const input = h('input', {
    type: 'text',
    class: 'code secret',
    readOnly: true,
    value: secret,
    autocomplete: 'off',
    spellcheck: false,
  });
  const copied = h('p', { class: 'ok-note', role: 'status' });
  const copy = h('button', { type: 'button', text: 'Copy', 'aria-label': 'Copy the secret' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      setText(copied, 'Copied.');
    } catch {
      // No clipboard access (an http origin other than localhost, a refused permission).
      input.select();
      setText(copied, 'Selected: press Ctrl+C (⌘C) to copy it.');
    }
  });
  const done = h('button', {
    type: 'button',
    class: 'quiet',
    text: 'Done',
    'aria-label': 'Done: hide the secret',
  });
  done.addEventListener('click', () => {
    forgetSecret(slot);
    document.querySelector('.keys h3')?.focus();
  });
  const endpoint = new URL('mcp', location.href.split('#')[0]).href;
  const panel = h(
    'section',
    { class: 'panel secret-panel', 'aria-labelledby': titleId },
    h('h3', { id: titleId, tabindex: '-1', text: `Key ${key.name} created` }),
    h('p', { class: 'warn', text: 'Copy it now: it will not be shown again.' }),
    h('div', { class: 'secret-row' }, field(`Secret of ${key.name}`, input), copy),
    copied,
    h(
      'p',
      { class: 'hint' },
      'Send it as ',
      h('code', { text: 'Authorization: Bearer <key>' }),
      ' on ',
      h('code', { text: endpoint }),
      ' (or on /mcp/<server or group> for a part of it).',
    ),
    h('div', { class: 'actions' }, done),
  );
  slot.replaceChildren(panel);
  input.focus();
  // Selected, with its start in view (a long secret would otherwise scroll to its end).
  input.setSelectionRange(0, input.value.length, 'backward');
  input.scrollLeft = 0;
}

function forgetSecret(slot) {
  for (const input of slot.querySelectorAll('input')) input.value = '';
  slot.replaceChildren();
}

/** The New key form. `created(answer)` gets `POST /api/keys`'s (or /api/me/keys') answer. */
function keyForm(state, { mode, created }) {
  const mine = mode === MODES.mine;
  const headingId = uid('new-key');
  const name = h('input', { type: 'text', required: true, spellcheck: false, autocomplete: 'off' });
  name.maxLength = 100;
  const user = h('input', { type: 'text', spellcheck: false, autocomplete: 'off' });
  const expires = h('input', { type: 'date' });
  const scopes = h('fieldset', { class: 'members scopes' });
  const chosen = new Set();
  let groups = [];
  const submit = h('button', { type: 'submit', text: 'Create key' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });

  const box = (scope, label) => {
    const input = h('input', { type: 'checkbox', id: uid(), value: scope, checked: chosen.has(scope) });
    input.addEventListener('change', () => {
      if (input.checked) chosen.add(scope);
      else chosen.delete(scope);
      if (scope === ALL) renderScopes();
    });
    return h('div', { class: 'field check' }, input, h('label', { for: input.id, text: label }));
  };

  /** Redraws the choices (the server list arrives and changes live), keeping what is ticked. */
  const renderScopes = () => {
    const everything = chosen.has(ALL);
    const rows = [
      box(ALL, 'Everything'),
      ...[...state.servers.keys()].map((s) => box(`mcp:server:${s}`, `Server ${s}`)),
      ...groups.map((g) => box(`mcp:group:${g}`, `Group ${g}`)),
    ];
    // With Everything ticked the others add nothing: they stay visible but cannot be changed.
    for (const row of rows.slice(1)) row.querySelector('input').disabled = everything;
    const focused = scopes.contains(document.activeElement) ? document.activeElement.value : undefined;
    scopes.replaceChildren(h('legend', { text: 'What it may use' }), ...rows);
    if (focused) scopes.querySelector(`input[value="${CSS.escape(focused)}"]`)?.focus();
  };

  const root = h(
    'form',
    { class: 'panel key-form', id: 'key-form', 'aria-labelledby': headingId, novalidate: true },
    h('h3', { id: headingId, text: 'New key' }),
    field('Name', name, 'What it is for, e.g. "CI" or "release agent".'),
    scopes,
    mine ? null : field('Acts as (optional)', user, 'The person the key acts as upstream. Empty: the admin.'),
    field('Expires (optional)', expires, 'It stops working at the end of this day. Empty: never.'),
    h('div', { class: 'actions' }, submit),
    error,
  );
  root.addEventListener('submit', (event) => {
    event.preventDefault();
    const list = [...chosen].filter((scope) => scope === ALL || !chosen.has(ALL));
    const body = { name: name.value.trim(), scopes: chosen.has(ALL) ? [ALL] : list };
    if (!body.name) return refuse(error, name, 'Give the key a name.');
    if (body.scopes.length === 0)
      return refuse(
        error,
        scopes.querySelector('input'),
        'Choose what it may use: Everything, a server or a group.',
      );
    if (!mine && user.value.trim()) body.user = user.value.trim();
    if (expires.value) {
      // The end of the chosen day, in the person's time zone.
      const end = new Date(`${expires.value}T23:59:59`);
      if (Number.isNaN(end.getTime())) return refuse(error, expires, 'The expiry is not a date.');
      body.expiresAt = end.toISOString();
    }
    busy(submit, error, async () => {
      const answer = await api(mode.base, { method: 'POST', body });
      name.value = '';
      user.value = '';
      expires.value = '';
      chosen.clear();
      renderScopes();
      created(answer);
    });
  });

  renderScopes();
  return {
    root,
    renderScopes,
    /** Reads the groups once (they have no live feed); `stillMounted()` guards a late answer. */
    loadGroups: async (stillMounted) => {
      try {
        groups = groupNames(await api('api/groups'));
        if (stillMounted()) renderScopes();
      } catch (failure) {
        if (stillMounted() && !(failure instanceof ApiError && failure.status === 401))
          showError(error, new Error(`The groups could not be read (${describeError(failure)}).`));
      }
    },
  };
}

function refuse(errorEl, control, text) {
  setText(errorEl, text);
  errorEl.hidden = false;
  control?.focus();
}
