/**
 * Form fields built from a tool's `inputSchema` (JSON Schema): strings, numbers and integers,
 * booleans, enums, arrays of strings (one per line), and a JSON text box for anything else. A
 * "JSON" switch edits the whole arguments object as text instead. Descriptions come from the
 * upstream and are shown as text.
 */
import { field, h, uid } from './dom.js';

const typeOf = (prop) => {
  const type = Array.isArray(prop?.type) ? prop.type.find((t) => t !== 'null') : prop?.type;
  if (Array.isArray(prop?.enum) && prop.enum.length > 0) return 'enum';
  if (type === 'array') {
    const items = prop.items ?? {};
    return items.type === 'string' && !items.enum ? 'strings' : 'json';
  }
  return ['string', 'number', 'integer', 'boolean'].includes(type) ? type : 'json';
};

function control(kind, prop, required) {
  switch (kind) {
    case 'string':
      return h('input', { type: 'text', spellcheck: false, autocomplete: 'off', required });
    case 'number':
    case 'integer':
      return h('input', { type: 'number', step: kind === 'integer' ? '1' : 'any', required });
    case 'boolean':
      return h('input', { type: 'checkbox' });
    case 'enum': {
      const select = h('select', { required });
      if (!required) select.append(h('option', { value: '', text: '(not set)' }));
      prop.enum.forEach((choice, index) =>
        select.append(h('option', { value: String(index), text: JSON.stringify(choice) })),
      );
      return select;
    }
    case 'strings':
      return h('textarea', { rows: 3, spellcheck: false, required });
    default:
      return h('textarea', { rows: 4, spellcheck: false, class: 'code', required });
  }
}

/**
 * Returns { root, read() } where read() gives { value } (the arguments object) or
 * { problem } (a sentence naming the field).
 */
export function schemaForm(schema) {
  const properties = schema?.properties && typeof schema.properties === 'object' ? schema.properties : {};
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  const fields = Object.entries(properties).map(([key, prop]) => {
    const kind = typeOf(prop);
    const isRequired = required.has(key);
    const input = control(kind, prop, isRequired);
    input.dataset.arg = key;
    let touched = false;
    input.addEventListener('input', () => (touched = true));
    input.addEventListener('change', () => (touched = true));
    const hints = [
      kind === 'strings' ? 'One value per line.' : '',
      kind === 'json' ? 'JSON.' : '',
      typeof prop?.description === 'string' ? prop.description : '',
    ].filter(Boolean);
    const label = `${key}${isRequired ? ' (required)' : ''}`;
    const row =
      kind === 'boolean'
        ? h(
            'div',
            { class: 'field check' },
            input,
            h('label', { for: (input.id = uid()), text: label }),
            hints.length ? h('p', { class: 'hint', text: hints.join(' ') }) : null,
          )
        : field(label, input, hints.join(' ') || undefined);
    return { key, kind, prop, input, row, required: isRequired, touched: () => touched };
  });

  const rawSwitch = h('input', { type: 'checkbox', id: uid() });
  const raw = h('textarea', { rows: 6, spellcheck: false, class: 'code', id: uid() });
  const rawRow = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: raw.id, text: 'Arguments (JSON)' }),
    raw,
  );
  const fieldBox = h('div', { class: 'schema-fields' }, ...fields.map((f) => f.row));
  if (fields.length === 0) fieldBox.append(h('p', { class: 'muted', text: 'This tool takes no arguments.' }));

  rawSwitch.addEventListener('change', () => {
    if (rawSwitch.checked) {
      const current = readFields();
      raw.value = JSON.stringify(current.value ?? {}, null, 2);
    }
    rawRow.hidden = !rawSwitch.checked;
    fieldBox.hidden = rawSwitch.checked;
    for (const f of fields) f.input.disabled = rawSwitch.checked;
  });

  function readFields() {
    const value = {};
    for (const f of fields) {
      const { key, kind, input } = f;
      if (kind === 'boolean') {
        if (f.required || f.touched()) value[key] = input.checked;
        continue;
      }
      const text = input.value;
      if (text.trim() === '') {
        if (f.required && kind !== 'string') return { problem: `${key} is required` };
        if (f.required) value[key] = '';
        continue;
      }
      if (kind === 'string') value[key] = text;
      else if (kind === 'number' || kind === 'integer') {
        const number = Number(text);
        if (!Number.isFinite(number) || (kind === 'integer' && !Number.isInteger(number)))
          return { problem: `${key} must be ${kind === 'integer' ? 'a whole number' : 'a number'}` };
        value[key] = number;
      } else if (kind === 'enum') value[key] = f.prop.enum[Number(text)];
      else if (kind === 'strings') value[key] = text.split('\n').filter((line) => line !== '');
      else {
        try {
          value[key] = JSON.parse(text);
        } catch {
          return { problem: `${key} is not valid JSON` };
        }
      }
    }
    return { value };
  }

  const read = () => {
    if (!rawSwitch.checked) return readFields();
    try {
      const value = JSON.parse(raw.value || '{}');
      if (!value || typeof value !== 'object' || Array.isArray(value))
        return { problem: 'The arguments must be a JSON object' };
      return { value };
    } catch {
      return { problem: 'The arguments are not valid JSON' };
    }
  };

  const root = h(
    'div',
    { class: 'schema-form' },
    fieldBox,
    rawRow,
    h(
      'div',
      { class: 'field check' },
      rawSwitch,
      h('label', { for: rawSwitch.id, text: 'Edit the arguments as JSON' }),
    ),
  );
  return { root, read };
}
