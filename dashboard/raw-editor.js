/**
 * The raw editor (`#/settings`): the whole settings file as text (`GET /api/settings/raw`, without
 * the gateway's own credential fields; stored secrets appear as "<secret: set>"). Saving
 * (`PUT` with the version it was loaded with) is validated by the gateway with the loader's
 * schema: a 400 lists each problem with its path and line and nothing is written; a 409 means
 * the file changed on disk meanwhile. Success is said only after the gateway said 200.
 */
import { api, ApiError, describeError, placeOf } from './api.js';
import { h, setText, showProblemBox } from './dom.js';

export function mountRawEditor(container) {
  const text = h('textarea', {
    id: 'raw-text',
    class: 'code raw-text',
    rows: 24,
    spellcheck: false,
    autocomplete: 'off',
    wrap: 'off',
    disabled: true,
    'aria-describedby': 'raw-hint',
  });
  const save = h('button', { type: 'submit', text: 'Save file', disabled: true });
  const reload = h('button', { type: 'button', class: 'quiet', text: 'Reload from disk' });
  const status = h('p', { role: 'status', class: 'raw-status' });
  const problems = h('div', { class: 'problems', role: 'alert', tabindex: '-1', hidden: true });
  const form = h(
    'form',
    { class: 'raw-form', 'aria-label': 'Edit mcp_settings.json' },
    h('label', { for: 'raw-text', text: 'mcp_settings.json' }),
    h('p', {
      class: 'hint',
      id: 'raw-hint',
      text: 'JSON with comments. Stored secrets show as "<secret: set>" and are kept; Gatehouse’s own fields are not shown and are kept.',
    }),
    text,
    problems,
    h('div', { class: 'actions' }, save, reload),
    status,
  );
  container.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: 'Edit the settings file' })),
    form,
  );

  let version;
  let alive = true;
  const load = async () => {
    problems.hidden = true;
    setText(status, 'Loading…');
    try {
      const raw = await api('api/settings/raw');
      if (!alive) return;
      text.value = raw.text;
      version = raw.version;
      text.disabled = false;
      save.disabled = false;
      setText(status, '');
    } catch (error) {
      if (alive && !(error instanceof ApiError && error.status === 401))
        setText(status, `Could not load the file. ${describeError(error)}`);
    }
  };

  /** Puts the caret on a problem's line, so the person lands where to fix it. */
  const goToLine = (line, column = 1) => {
    const lines = text.value.split('\n');
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    text.focus();
    text.setSelectionRange(offset, offset);
  };

  const showProblems = (intro, list = [], extra) => {
    const parts = [
      h('p', { text: intro }),
      list.length
        ? h(
            'ul',
            {},
            ...list.map((p) => {
              const item = h('li', { text: `${placeOf(p)}: ${p.message}` });
              if (p.line) {
                const jump = h('button', {
                  type: 'button',
                  class: 'quiet small',
                  text: `Go to line ${p.line}`,
                });
                jump.addEventListener('click', () => goToLine(p.line, p.column));
                item.append(' ', jump);
              }
              return item;
            }),
          )
        : null,
      extra,
    ];
    showProblemBox(problems, ...parts);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problems.hidden = true;
    setText(status, 'Saving…');
    save.disabled = true;
    try {
      const answer = await api('api/settings/raw', { method: 'PUT', body: { text: text.value, version } });
      if (answer?.version) version = answer.version;
      else {
        const raw = await api('api/settings/raw');
        version = raw.version;
      }
      setText(status, 'Saved. Changed servers reconnect.');
    } catch (error) {
      setText(status, 'Not saved.');
      if (error instanceof ApiError && error.code === 'SETTINGS_CONFLICT') {
        const again = h('button', {
          type: 'button',
          class: 'quiet',
          text: 'Reload (your text here is lost)',
        });
        again.addEventListener('click', load);
        showProblems(
          'The file changed on disk since you opened it. Copy your change, reload, and apply it again.',
          [],
          again,
        );
      } else if (!(error instanceof ApiError && error.status === 401)) {
        const list = error.problems ?? [];
        showProblems(
          list.length
            ? `The file was not saved (${error.code}):`
            : `The file was not saved: ${describeError(error)}`,
          list,
        );
      }
    } finally {
      save.disabled = false;
    }
  });
  reload.addEventListener('click', load);
  load();
  return { unmount: () => (alive = false) };
}
