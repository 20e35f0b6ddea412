/* global document */
/**
 * DOM helpers. Everything a server reports reaches the page through text nodes and attributes,
 * never as markup: server names, error messages, tool descriptions and log details can carry text
 * an upstream or a settings file chose. There is deliberately no helper that takes HTML.
 */

/**
 * Creates an element. `attrs`: `class`, `text`, `on<Event>` functions, `dataset` (object), boolean
 * properties (hidden, disabled, required, checked, open, multiple, readOnly), `value`, and any
 * other attribute by name (set with setAttribute, so `aria-*` and `for` work). Children may be
 * strings (text nodes), nodes, arrays of either, or null/undefined/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function')
      node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (PROPERTIES.has(key)) node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

const PROPERTIES = new Set([
  'hidden',
  'disabled',
  'required',
  'checked',
  'open',
  'multiple',
  'readOnly',
  'value',
  'type',
  'name',
  'id',
  'htmlFor',
  'href',
  'placeholder',
  'autocomplete',
  'spellcheck',
  'rows',
  'step',
  'selected',
]);

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
}

/** Writes only on change: no needless DOM churn, no lost text selection, no repeated announcements. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

let ids = 0;
/** A page-unique id, for label/aria wiring of elements built at run time. */
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A `<time>` element for an epoch-milliseconds value (the machine-readable form in `datetime`). */
export function timeEl(ms, text) {
  const node = h('time', { text: text ?? new Date(ms).toLocaleString() });
  node.dateTime = new Date(ms).toISOString();
  return node;
}

/** A labelled form row: `<div class=field><label for>…</label>control hint</div>`. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const hintEl = hint ? h('p', { class: 'hint', id: uid('hint'), text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hintEl);
}

/** A `<dl>` of facts; `rows` are `[term, value]` pairs where value is text or nodes; falsy rows skipped. */
export function facts(rows, className = 'facts') {
  const list = h('dl', { class: className });
  for (const row of rows) {
    if (!row) continue;
    const [term, ...value] = row;
    list.append(h('div', {}, h('dt', { text: term }), h('dd', {}, ...value)));
  }
  return list;
}

/** A switch: a button with role=switch whose accessible name is `label`. */
export function switchButton({ label, checked, onToggle, className = '' }) {
  const button = h('button', {
    type: 'button',
    role: 'switch',
    class: `switch ${className}`.trim(),
    'aria-checked': String(Boolean(checked)),
    'aria-label': label,
  });
  button.append(
    h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })),
  );
  button.addEventListener('click', () => onToggle(button.getAttribute('aria-checked') !== 'true', button));
  return button;
}

/** Sets a switch's state without firing it. */
export function setSwitch(button, checked) {
  const value = String(Boolean(checked));
  if (button.getAttribute('aria-checked') !== value) button.setAttribute('aria-checked', value);
}

/**
 * Fills a form's problem box (an element with tabindex=-1) with `parts` (null ones left out),
 * shows it and moves the focus there, so a screen reader reads what went wrong.
 */
export function showProblemBox(box, ...parts) {
  box.replaceChildren(...parts.filter(Boolean));
  box.hidden = false;
  box.focus();
}
