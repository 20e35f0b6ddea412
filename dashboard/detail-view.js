/**
 * One server's page (`#/servers/<name>`): its state in words, what to do next, the last error,
 * credentials, tools (switches and Try it), sign-in facts (token health, timeline) and a stdio
 * program's stderr. Loaded from `GET /api/servers/:name` and reloaded when the live feed says
 * this server changed. Each part is redrawn only when its data changed, so forms keep their text.
 */
import { api, ApiError, describeError, serverPath } from './api.js';
import { accountLine, lastError, timeline, tokenHealth } from './detail-auth.js';
import { h, setSwitch, setText, switchButton } from './dom.js';
import { inputsSection } from './inputs-form.js';
import { serverHref } from './router.js';
import { busy, connectButton, disconnectButton, reconnectButton } from './server-actions.js';
import { confirmRemove } from './remove-dialog.js';
import { toolsSection } from './tools-view.js';
import { canConnect, isPerUser, labelOf, perPersonLine, rawCodes, signInLine, toneOf } from './words.js';

const RELOAD_DELAY_MS = 100;
const CLOCK_MS = 10_000;

export function mountDetail(container, { name, state }) {
  const heading = h('h2', { tabindex: '-1', text: name });
  const badge = h('span', { class: 'badge status' });
  const type = h('span', { class: 'type' });
  const rawLine = h('p', { class: 'raw-codes muted' });
  const signIn = h('p', { class: 'sign-in' });
  const account = h('div');
  const perPerson = h('p', { class: 'per-person', hidden: true });
  const actionError = h('p', { class: 'error', role: 'alert', hidden: true });
  const connect = connectButton(name, actionError);
  const disconnect = disconnectButton(name, actionError);
  const reconnect = reconnectButton(name, actionError);
  const enabled = switchButton({
    label: 'Enabled',
    checked: true,
    onToggle: (next, button) =>
      busy(button, actionError, async () => {
        await api(serverPath(name), { method: 'PATCH', body: { enabled: next } });
        setSwitch(button, next);
      }),
  });
  const remove = h('button', {
    type: 'button',
    class: 'danger',
    text: 'Remove',
    'aria-label': `Remove ${name}`,
  });
  remove.addEventListener('click', () => confirmRemove(name, remove));
  const errorBox = h('div');
  const inputs = inputsSection(name);
  const tools = toolsSection(name);
  const authBox = h('div');
  const auth = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'auth-title', hidden: true },
    h('h3', { id: 'auth-title', text: 'Sign-in' }),
    authBox,
  );
  const stderr = h('pre', { class: 'stderr', tabindex: '0', 'aria-label': `Recent stderr of ${name}` });
  const stderrPanel = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'stderr-title', hidden: true },
    h('h3', { id: 'stderr-title', text: 'Recent stderr' }),
    stderr,
  );
  const loadError = h('p', { class: 'error', role: 'alert', hidden: true });
  const gone = h(
    'p',
    { class: 'notice', hidden: true },
    `There is no server named “${name}” (any more). `,
    h('a', { href: '#/', text: 'All servers' }),
  );
  const body = h(
    'div',
    { class: 'detail', hidden: true },
    h('div', { class: 'status-line' }, badge, type, signIn),
    rawLine,
    perPerson,
    account,
    h(
      'div',
      { class: 'actions' },
      connect,
      disconnect,
      reconnect,
      h('span', { class: 'switch-field' }, enabled, h('span', { 'aria-hidden': 'true', text: 'Enabled' })),
      h('a', {
        class: 'button quiet',
        href: serverHref(name, '/edit'),
        text: 'Edit',
        'aria-label': `Edit ${name}`,
      }),
      remove,
    ),
    actionError,
    errorBox,
    inputs.root,
    tools.root,
    auth,
    stderrPanel,
  );
  container.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, heading),
    loadError,
    gone,
    body,
  );

  let detail;
  const keys = {};
  const changed = (part, value) => {
    const key = JSON.stringify(value ?? null);
    if (keys[part] === key) return false;
    keys[part] = key;
    return true;
  };

  const render = () => {
    // The live summary is newer than the detail for what it carries (status, label, error).
    const server = { ...detail, ...(state.servers.get(name) ?? {}) };
    body.hidden = false;
    setText(badge, labelOf(server));
    badge.dataset.tone = toneOf(server);
    badge.title = rawCodes(server);
    setText(rawLine, rawCodes(server));
    setText(type, server.type ?? '');
    const line = signInLine(server);
    setText(signIn, line ?? '');
    if (changed('account', detail.auth?.account)) account.replaceChildren(accountLine(detail) ?? '');
    const people = perPersonLine(server);
    setText(perPerson, people ? `Per person: ${people}` : '');
    perPerson.hidden = !people;
    connect.hidden = !canConnect(server);
    disconnect.hidden = server.auth?.stage !== 'authorized';
    reconnect.hidden = server.enabled === false;
    setSwitch(enabled, server.enabled !== false);
    // Waiting for a person is said above (what to click), not shown as an error.
    const error = detail.auth?.error ?? (server.status === 'auth_required' ? undefined : server.error);
    if (changed('error', [error, server.nextRetryAt]))
      errorBox.replaceChildren(lastError(error, server.nextRetryAt) ?? '');
    // A per-user server's inputs are each person's own (My servers), not set here.
    inputs.update(isPerUser(server) ? [] : (detail.inputs ?? []));
    // Switches follow the live summary (newer); schemas come with the detail.
    const live = new Map((state.servers.get(name)?.tools ?? []).map((t) => [t.name, t]));
    tools.update(
      (detail.tools ?? []).map((t) => ({ ...t, enabled: live.get(t.name)?.enabled ?? t.enabled })),
    );
    const oauth = Array.isArray(detail.auth?.log) ? detail.auth : undefined;
    auth.hidden = !oauth;
    if (oauth && changed('auth', oauth))
      authBox.replaceChildren(
        h('h4', { text: 'Token health' }),
        tokenHealth(oauth) ?? '',
        h('h4', { text: 'Timeline' }),
        timeline(oauth),
      );
    stderrPanel.hidden = !Array.isArray(detail.stderr);
    if (Array.isArray(detail.stderr))
      setText(stderr, detail.stderr.length ? detail.stderr.join('\n') : 'No output yet.');
  };

  let reloadTimer;
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    try {
      const next = await api(serverPath(name));
      if (mine !== generation) return;
      detail = next;
      loadError.hidden = true;
      gone.hidden = true;
      render();
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof ApiError && error.status === 404) {
        body.hidden = true;
        gone.hidden = false;
      } else if (!(error instanceof ApiError && error.status === 401)) {
        setText(loadError, `Could not load ${name}. ${describeError(error)}`);
        loadError.hidden = false;
      }
    }
  };
  const reloadSoon = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, RELOAD_DELAY_MS);
  };
  // Relative times ("expires in 9 min") age: redraw the token facts now and then.
  const clock = setInterval(() => {
    if (detail?.auth) {
      keys.auth = '';
      render();
    }
  }, CLOCK_MS);

  load();
  return {
    update: (change) => {
      if (change.kind === 'removed' && change.name === name) {
        body.hidden = true;
        gone.hidden = false;
      } else if ((change.kind === 'server' && change.name === name) || change.kind === 'servers') {
        if (detail && state.servers.has(name)) render();
        reloadSoon();
      }
    },
    unmount: () => {
      generation++;
      clearTimeout(reloadTimer);
      clearInterval(clock);
    },
  };
}
