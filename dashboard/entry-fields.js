/**
 * Pieces of the server form: name/value rows (headers, env) that can be marked secret, secret
 * fields, one-per-line lists and `inputs` declarations. A secret already stored comes from the
 * API as `{ secret: true, set: true }` (never its value): it is shown as "set", and sent back as
 * `{ secret: true, keep: true }` unless the person typed a new value.
 */
import { field, h, setText, uid } from './dom.js';

export const isSecret = (value) => Boolean(value) && typeof value === 'object' && value.secret === true;
const KEEP = Object.freeze({ secret: true, keep: true });

/**
 * Deeply replaces every redacted secret still in `value` as the API sent it (`{ secret, set }`)
 * by "keep the stored one": a key the form does not show must not be sent back as a marker.
 */
export function keepSecrets(value) {
  if (Array.isArray(value)) return value.map(keepSecrets);
  if (!value || typeof value !== 'object') return value;
  // An empty secret (`set: false`) has nothing to keep: leave the key out.
  if (isSecret(value))
    return 'keep' in value || 'value' in value ? value : value.set ? { ...KEEP } : undefined;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, keepSecrets(inner)]));
}

/**
 * Name/value rows for `headers` or `env`. Returns { root, read() → object | undefined }
 * (undefined when there is no row with a name).
 */
export function keyValueRows({ legend, noun, values = {}, hint }) {
  const rows = h('div', { class: 'kv-rows' });
  const add = h('button', { type: 'button', class: 'quiet', text: `Add ${noun}` });
  const root = h(
    'fieldset',
    { class: 'kv', dataset: { kv: noun } },
    h('legend', { text: legend }),
    hint ? h('p', { class: 'hint', text: hint }) : null,
    rows,
    add,
  );
  const all = [];

  const renumber = () =>
    all.forEach((row, index) => {
      const n = index + 1;
      row.name.setAttribute('aria-label', `${noun} ${n} name`);
      row.value.setAttribute('aria-label', `${noun} ${n} value`);
      row.secret.setAttribute('aria-label', `${noun} ${n} is secret`);
      setText(row.secretText, 'secret');
      row.remove.setAttribute('aria-label', `Remove ${noun} ${n}`);
    });

  const addRow = (key = '', value = '') => {
    const stored = isSecret(value) && value.set !== false;
    const row = {
      stored,
      name: h('input', {
        type: 'text',
        value: key,
        spellcheck: false,
        autocomplete: 'off',
        class: 'kv-name',
      }),
      value: h('input', {
        type: isSecret(value) ? 'password' : 'text',
        value: isSecret(value) ? '' : String(value),
        spellcheck: false,
        autocomplete: 'off',
        class: 'kv-value',
        placeholder: stored ? 'set; leave empty to keep' : 'value',
      }),
      secret: h('input', { type: 'checkbox', checked: isSecret(value), class: 'kv-secret', id: uid() }),
      secretText: h('span', { 'aria-hidden': 'true' }),
      remove: h('button', { type: 'button', class: 'quiet small', text: 'Remove' }),
    };
    row.name.placeholder = 'name';
    row.secret.addEventListener('change', () => (row.value.type = row.secret.checked ? 'password' : 'text'));
    row.root = h(
      'div',
      { class: 'kv-row' },
      row.name,
      row.value,
      h('label', { class: 'check', for: row.secret.id }, row.secret, row.secretText),
      row.remove,
    );
    row.remove.addEventListener('click', () => {
      all.splice(all.indexOf(row), 1);
      row.root.remove();
      renumber();
      add.focus();
    });
    all.push(row);
    rows.append(row.root);
    renumber();
    return row;
  };

  for (const [key, value] of Object.entries(values ?? {})) addRow(key, value);
  add.addEventListener('click', () => addRow().name.focus());

  const read = () => {
    const out = {};
    for (const row of all) {
      const key = row.name.value.trim();
      if (!key) continue;
      const value = row.value.value;
      if (row.secret.checked) out[key] = value === '' && row.stored ? { ...KEEP } : { secret: true, value };
      else out[key] = value;
    }
    return Object.keys(out).length ? out : undefined;
  };
  return { root, read };
}

/**
 * A secret text field (client secret, initial access token). read() → undefined (empty, nothing
 * stored), `{ secret: true, keep: true }` (empty, one stored) or the typed string.
 */
export function secretField(label, value) {
  const stored = isSecret(value) && value.set !== false;
  const input = h('input', {
    type: 'password',
    autocomplete: 'off',
    spellcheck: false,
    value: typeof value === 'string' ? value : '',
    placeholder: stored ? 'set; leave empty to keep' : '',
  });
  const root = field(
    label,
    input,
    stored ? 'Set. Leave empty to keep it; type to replace it.' : 'Stored encrypted.',
  );
  const read = () => (input.value === '' ? (stored ? { ...KEEP } : undefined) : input.value);
  return { root, input, read };
}

/** A plain text field. read() → the trimmed text, or undefined when empty. */
export function textField(label, value, { hint, required, inputmode, placeholder } = {}) {
  const input = h('input', {
    type: 'text',
    value: typeof value === 'string' ? value : '',
    spellcheck: false,
    autocomplete: 'off',
    required,
    inputmode,
    placeholder,
  });
  const root = field(label, input, hint);
  return { root, input, read: () => input.value.trim() || undefined };
}

/** A list, one item per line. read() → string[] or undefined when empty. */
export function linesField(label, values, hint = 'One per line.') {
  const input = h('textarea', { rows: 3, spellcheck: false, value: (values ?? []).join('\n') });
  const root = field(label, input, hint);
  const read = () => {
    const lines = input.value.split('\n').filter((line) => line.trim() !== '');
    return lines.length ? lines : undefined;
  };
  return { root, input, read };
}

/** `inputs` declarations: id, description, hidden-while-typing. read() → array or undefined. */
export function inputDeclarations(inputs = []) {
  const rows = h('div', { class: 'kv-rows' });
  const add = h('button', { type: 'button', class: 'quiet', text: 'Add a credential' });
  const all = [];
  const addRow = (input = { password: true }) => {
    const n = all.length + 1;
    const row = {
      id: h('input', {
        type: 'text',
        value: input.id ?? '',
        spellcheck: false,
        placeholder: 'id, e.g. api-key',
      }),
      description: h('input', { type: 'text', value: input.description ?? '', placeholder: 'description' }),
      password: h('input', { type: 'checkbox', checked: input.password !== false, id: uid() }),
      extra: Object.fromEntries(
        Object.entries(input).filter(([k]) => !['id', 'description', 'password'].includes(k)),
      ),
    };
    row.id.setAttribute('aria-label', `Credential ${n} id`);
    row.description.setAttribute('aria-label', `Credential ${n} description`);
    rows.append(
      h(
        'div',
        { class: 'kv-row' },
        row.id,
        row.description,
        h('label', { class: 'check', for: row.password.id }, row.password, `hidden while typing`),
      ),
    );
    row.password.setAttribute('aria-label', `Credential ${n} hidden while typing`);
    all.push(row);
    return row;
  };
  for (const input of inputs) addRow(input);
  add.addEventListener('click', () => addRow().id.focus());
  const root = h(
    'fieldset',
    { class: 'kv' },
    h('legend', { text: 'Credentials people type in (inputs)' }),
    h('p', {
      class: 'hint',
      text: 'Use them as ${input:<id>} in the URL, a header or an env value; set their values on the server’s page.',
    }),
    rows,
    add,
  );
  const read = () => {
    const out = all
      .filter((row) => row.id.value.trim())
      .map((row) => ({
        ...row.extra,
        id: row.id.value.trim(),
        ...(row.description.value.trim() ? { description: row.description.value.trim() } : {}),
        password: row.password.checked,
      }));
    return out.length ? out : undefined;
  };
  return { root, read };
}
