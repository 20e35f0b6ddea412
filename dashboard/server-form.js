/**
 * Add a server (`#/add`, POST /api/servers) or edit one (`#/servers/<name>/edit`, PUT with the
 * `version` the form was loaded with; a rename moves it). The fields follow the transport: a
 * program (stdio: command, args, env, cwd) or a remote server (Streamable HTTP / SSE / either:
 * url, headers), with an optional OAuth block and `inputs`, and whose credentials reach it (shared
 * or each person's own, `credentials`). Keys the form does not know are kept as they were, in
 * their place.
 */
import { api, ApiError, describeError, placeOf, serverPath } from './api.js';
import { field, h, showProblemBox } from './dom.js';
import { inputDeclarations, keepSecrets, keyValueRows, linesField, textField } from './entry-fields.js';
import { oauthBlock } from './oauth-fields.js';
import { go, serverHref } from './router.js';

/** Keys of an entry this form writes; every other key is carried over untouched. */
const MANAGED = [
  'type',
  'command',
  'args',
  'env',
  'cwd',
  'url',
  'headers',
  'oauth',
  'inputs',
  'enabled',
  'disabled',
  'credentials',
];
const HTTP_TYPES = new Set(['streamable-http', 'http', 'streamableHttp']);

const transportOf = (entry) => {
  if (entry.command !== undefined || entry.type === 'stdio') return 'stdio';
  if (entry.type === 'sse') return 'sse';
  return HTTP_TYPES.has(entry.type) ? 'streamable-http' : 'auto';
};

export function mountAdd(container) {
  container.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: 'Add a server' })),
    h(
      'p',
      { class: 'hint' },
      'Have a configuration from Claude Desktop, Cursor or VS Code? ',
      h('a', { href: '#/import', text: 'Paste it instead' }),
      '.',
    ),
    serverForm({ mode: 'add', entry: { type: 'streamable-http' } }),
  );
}

export function mountEdit(container, { name }) {
  const box = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  container.append(
    h('p', { class: 'crumbs' }, h('a', { href: serverHref(name), text: `← ${name}` })),
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: `Edit ${name}` })),
    box,
  );
  let alive = true;
  const load = async () => {
    try {
      const detail = await api(serverPath(name));
      if (!alive) return;
      if (!detail.entry) throw new Error('this gateway does not send the settings entry of a server');
      box.replaceChildren(
        serverForm({ mode: 'edit', name, entry: detail.entry, version: detail.version, reload: load }),
      );
    } catch (error) {
      if (alive)
        box.replaceChildren(
          h('p', { class: 'error', role: 'alert', text: `Could not load ${name}. ${describeError(error)}` }),
        );
    }
  };
  load();
  return { unmount: () => (alive = false) };
}

function serverForm({ mode, name = '', entry, version, reload }) {
  const nameField = textField('Name', name, {
    required: true,
    hint: 'Tools are offered as <name>__<tool>.',
  });
  const transport = h(
    'select',
    {},
    h('option', { value: 'streamable-http', text: 'Streamable HTTP (remote)' }),
    h('option', { value: 'sse', text: 'SSE (older remote servers)' }),
    h('option', { value: 'auto', text: 'Remote, detect (Streamable HTTP, then SSE)' }),
    h('option', { value: 'stdio', text: 'Program on this machine (stdio)' }),
  );
  transport.value = transportOf(entry);
  // Whose credentials reach the server (issue 14): the administrator's for everyone, or each person's.
  const credentials = h(
    'select',
    {},
    h('option', { value: 'shared', text: 'Shared by everyone' }),
    h('option', { value: 'perUser', text: 'Each person’s own' }),
  );
  credentials.value = entry.credentials === 'perUser' ? 'perUser' : 'shared';
  const wasEnabled = entry.enabled !== false && entry.disabled !== true;
  const enabled = h('input', { type: 'checkbox', checked: wasEnabled, id: 'server-enabled' });

  const command = textField('Command', entry.command, { required: true, placeholder: 'npx' });
  const args = linesField('Arguments', entry.args);
  const cwd = textField('Working folder', entry.cwd, { hint: 'Relative to the settings file’s folder.' });
  const env = keyValueRows({
    legend: 'Environment',
    noun: 'variable',
    values: entry.env,
    hint: 'Only these variables (plus PATH and HOME) reach the program.',
  });
  const stdio = h(
    'fieldset',
    { class: 'group', dataset: { transport: 'stdio' } },
    h('legend', { text: 'Program' }),
    command.root,
    args.root,
    cwd.root,
    env.root,
  );

  const url = textField('URL', entry.url, {
    required: true,
    inputmode: 'url',
    placeholder: 'https://example.com/mcp',
  });
  const headers = keyValueRows({ legend: 'Headers', noun: 'header', values: entry.headers });
  const oauth = oauthBlock(entry.oauth);
  const remote = h(
    'fieldset',
    { class: 'group', dataset: { transport: 'remote' } },
    h('legend', { text: 'Remote server' }),
    url.root,
    headers.root,
    oauth.root,
  );

  const inputs = inputDeclarations(entry.inputs);
  const inputsBox = h(
    'details',
    { class: 'more', open: Boolean(entry.inputs?.length) },
    h('summary', { text: 'Credentials people type in (optional)' }),
    inputs.root,
  );

  const problems = h('div', { class: 'problems', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', text: mode === 'add' ? 'Add server' : 'Save changes' });
  const form = h(
    'form',
    {
      class: 'server-form',
      id: 'server-form',
      'aria-label': mode === 'add' ? 'Add a server' : `Edit ${name}`,
      novalidate: false,
    },
    h(
      'fieldset',
      { class: 'group' },
      h('legend', { text: 'Server' }),
      nameField.root,
      field('Transport', transport),
      field(
        'Credentials',
        credentials,
        'Each person’s own: everyone signs in or types in the credentials for themselves (My servers), and acts upstream as themselves.',
      ),
      h(
        'div',
        { class: 'field check' },
        enabled,
        h('label', { for: enabled.id, text: 'Enabled (connect it)' }),
      ),
    ),
    stdio,
    remote,
    inputsBox,
    problems,
    h(
      'div',
      { class: 'actions' },
      submit,
      h('a', { class: 'button quiet', href: mode === 'add' ? '#/' : serverHref(name), text: 'Cancel' }),
    ),
  );

  const showTransport = () => {
    const isStdio = transport.value === 'stdio';
    // A hidden part is also disabled, so its required fields do not block the form.
    stdio.hidden = stdio.disabled = !isStdio;
    remote.hidden = remote.disabled = isStdio;
  };
  transport.addEventListener('change', showTransport);
  showTransport();

  const collect = () => {
    const kind = transport.value;
    const next = {};
    if (kind === 'stdio') {
      if (entry.type !== undefined) next.type = 'stdio';
      next.command = command.read();
      next.args = args.read();
      next.env = env.read();
      next.cwd = cwd.read();
    } else {
      if (kind === 'sse') next.type = 'sse';
      else if (kind === 'streamable-http')
        next.type = HTTP_TYPES.has(entry.type) ? entry.type : 'streamable-http';
      next.url = url.read();
      next.headers = headers.read();
      next.oauth = oauth.read();
    }
    next.inputs = inputs.read();
    // "shared" is the default: written only when chosen over an entry that said otherwise.
    if (credentials.value === 'perUser' || entry.credentials !== undefined)
      next.credentials = credentials.value;
    if (entry.disabled !== undefined) next.disabled = !enabled.checked;
    else if (entry.enabled !== undefined || !enabled.checked) next.enabled = enabled.checked;
    // The entry's own key order, with new keys after; unmanaged keys as they were.
    const out = {};
    for (const key of Object.keys(entry)) {
      if (!MANAGED.includes(key)) out[key] = entry[key];
      else if (next[key] !== undefined) out[key] = next[key];
    }
    for (const [key, value] of Object.entries(next))
      if (value !== undefined && !(key in out)) out[key] = value;
    return keepSecrets(out);
  };

  const showProblems = (intro, list = [], extra) => {
    const parts = [
      h('p', { text: intro }),
      list.length ? h('ul', {}, ...list.map((p) => h('li', { text: `${placeOf(p)}: ${p.message}` }))) : null,
      extra,
    ];
    showProblemBox(problems, ...parts);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problems.hidden = true;
    const newName = nameField.read();
    let built;
    try {
      built = collect();
    } catch (error) {
      return showProblems(error.message);
    }
    submit.disabled = true;
    try {
      const answer =
        mode === 'add'
          ? await api('api/servers', { method: 'POST', body: { name: newName, entry: built } })
          : await api(serverPath(name), {
              method: 'PUT',
              body: { entry: built, version, ...(newName !== name ? { rename: newName } : {}) },
            });
      go(serverHref(answer?.name ?? newName));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'SETTINGS_CONFLICT') {
        const again = h('button', { type: 'button', class: 'quiet', text: 'Reload the form' });
        again.addEventListener('click', () => reload?.());
        showProblems(
          'The file changed on disk since this form was opened; reload to edit the current entry.',
          [],
          again,
        );
      } else if (error instanceof ApiError && error.code === 'SERVER_EXISTS') {
        showProblems(`A server or group named “${newName}” already exists; choose another name.`);
        nameField.input.focus();
      } else if (!(error instanceof ApiError && error.status === 401)) {
        const list = error.problems ?? [];
        showProblems(list.length ? `Not saved (${error.code}):` : `Not saved. ${describeError(error)}`, list);
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
