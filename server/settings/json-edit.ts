/**
 * Format-preserving edits of the settings text (DESIGN.md, "The settings file": a write changes
 * only the bytes of the field it targets). The changes between the document before and after a
 * mutator are computed on the parsed values, then applied to the person's text one field at a
 * time; every byte outside a changed field (inline arrays, key order, blank lines, comments,
 * trailing commas) stays as it was written.
 *
 * jsonc-parser parses the text into a tree with offsets and applies the edits. Its `modify` is
 * used for removals inside a one-line object only: with `formattingOptions` it re-formats the whole
 * line around an insertion (expanding an inline array written on it), without them it writes
 * compact JSON, and it edits the first of two repeated keys where JSON.parse reads the last. So
 * new text is laid out here in the file's own indentation, a new property goes after the line's
 * comma and comment, and a removed one takes its own lines with it.
 */
import { applyEdits, modify, parseTree, type Edit, type Node, type ParseError } from 'jsonc-parser';
import { canonicalJson, findNode, isRecord, JSONC_OPTIONS, nodeValue, splitBom } from './json-text.js';

/** One field to change: `value` undefined removes it. */
export interface FieldChange {
  path: string[];
  value: unknown;
}

/** A key renamed in place: `from` becomes `to` in the object at `parent`. */
export interface KeyRename {
  parent: string[];
  from: string;
  to: string;
}

/** How the text is laid out: the indent of one level and the line ending. */
export interface TextStyle {
  indent: string;
  eol: string;
}

type Raw = Record<string, unknown>;

/** An array of scalars is kept on one line when the line stays this short. */
const INLINE_ARRAY_WIDTH = 80;

/**
 * The field changes that turn `before` into `after`: removed keys, added or changed values;
 * objects present on both sides are compared key by key, anything else (arrays included) is
 * replaced whole.
 */
export function documentChanges(before: Raw, after: Raw, path: string[] = []): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) changes.push({ path: [...path, key], value: undefined });
  }
  for (const key of Object.keys(after)) {
    const next = after[key];
    if (!Object.hasOwn(before, key)) {
      changes.push({ path: [...path, key], value: next });
      continue;
    }
    const prev = before[key];
    if (isRecord(prev) && isRecord(next)) changes.push(...documentChanges(prev, next, [...path, key]));
    else if (canonicalJson(prev) !== canonicalJson(next)) changes.push({ path: [...path, key], value: next });
  }
  return changes;
}

/** The indentation and line ending `text` uses (2 spaces and `\n` when it shows none). */
export function detectStyle(text: string): TextStyle {
  const indent = /^([ \t]+)["}\]/]/m.exec(text)?.[1];
  return {
    indent: indent === undefined ? '  ' : indent.startsWith('\t') ? '\t' : indent,
    eol: text.includes('\r\n') ? '\r\n' : '\n',
  };
}

/**
 * Applies the changes from `before` (the document `text` holds) to `after` onto `text`. Returns
 * `text` itself when nothing changed, and undefined when the edited text would not hold exactly
 * `after` (a layout this editor does not handle): the caller then writes the document whole.
 * `renames` are applied first, each to the key's own bytes, so a renamed entry keeps its place,
 * its layout and its comments.
 */
export function editJsonText(
  text: string,
  before: Raw,
  after: Raw,
  renames: readonly KeyRename[] = [],
): string | undefined {
  const target = JSON.parse(JSON.stringify(after)) as Raw; // JSON's view: no undefined values
  const renamed = renames.length === 0 ? before : structuredClone(before);
  const { bom, body } = splitBom(text);
  let out = body;
  try {
    for (const rename of renames) {
      out = applyEdits(out, renameEdits(out, rename));
      renameIn(renamed, rename);
    }
  } catch {
    return undefined;
  }
  const changes = documentChanges(renamed, target);
  if (changes.length === 0 && renames.length === 0) return text;
  const style = detectStyle(body);
  try {
    for (const change of changes) out = applyEdits(out, fieldEdits(out, change, style));
  } catch {
    return undefined; // jsonc-parser refused an edit: fall back rather than guess
  }
  const errors: ParseError[] = [];
  const root = parseTree(out, errors, JSONC_OPTIONS);
  if (root === undefined || errors.length > 0) return undefined;
  return canonicalJson(nodeValue(root)) === canonicalJson(target) ? bom + out : undefined;
}

/** The edit that renames one key where it is written. */
function renameEdits(text: string, rename: KeyRename): Edit[] {
  const root = parseTree(text, [], JSONC_OPTIONS);
  const parent = root === undefined ? undefined : findNode(root, rename.parent);
  const key = parent?.children?.findLast((p) => p.children?.[0]?.value === rename.from)?.children?.[0];
  if (parent?.type !== 'object' || key === undefined) throw new Error('no key to rename');
  return [{ offset: key.offset, length: key.length, content: JSON.stringify(rename.to) }];
}

/** The same rename on a parsed document, keeping the order of the keys. */
function renameIn(doc: Raw, rename: KeyRename): void {
  let node: unknown = doc;
  for (const key of rename.parent) node = isRecord(node) ? node[key] : undefined;
  if (!isRecord(node) || !Object.hasOwn(node, rename.from)) throw new Error('no key to rename');
  const entries = Object.entries(node).map(([k, v]) => [k === rename.from ? rename.to : k, v] as const);
  for (const k of Object.keys(node)) delete node[k];
  for (const [k, v] of entries) node[k] = v;
}

/** The text edits for one field change. */
function fieldEdits(text: string, change: FieldChange, style: TextStyle): Edit[] {
  const root = parseTree(text, [], JSONC_OPTIONS);
  if (root === undefined) throw new Error('the text does not parse');
  const node = findNode(root, change.path);
  if (change.value === undefined) {
    return node?.parent?.type === 'property' ? removalEdits(text, change.path, node.parent) : [];
  }
  if (node !== undefined) {
    // A new value where the old one stands, on one line or several as the old one was.
    const content = spansLines(text, node)
      ? renderBlock(change.value, indentOfLine(text, node.offset), style, 0)
      : renderInline(change.value);
    return [{ offset: node.offset, length: node.length, content }];
  }
  const parent = findNode(root, change.path.slice(0, -1));
  if (parent?.type !== 'object') throw new Error('no object to add the field to');
  return insertionEdits(text, parent, change.path.at(-1) ?? '', change.value, style);
}

function insertionEdits(text: string, parent: Node, key: string, value: unknown, style: TextStyle): Edit[] {
  const children = parent.children ?? [];
  const last = children.at(-1);
  const name = `${JSON.stringify(key)}: `;
  if (last === undefined) {
    // An empty object (`"groups": {}`) opens onto lines of its own.
    const outer = indentOfLine(text, parent.offset);
    const inner = outer + style.indent;
    const property = `${style.eol}${inner}${name}${renderBlock(value, inner, style, name.length)}`;
    const start = parent.offset + 1;
    const end = parent.offset + parent.length - 1;
    return /^\s*$/.test(text.slice(start, end))
      ? [{ offset: start, length: end - start, content: `${property}${style.eol}${outer}` }]
      : [{ offset: start, length: 0, content: property }];
  }
  const lastEnd = last.offset + last.length;
  if (!spansLines(text, parent)) {
    return [{ offset: lastEnd, length: 0, content: `, ${name}${renderInline(value)}` }];
  }
  const indent = startsLine(text, last.offset)
    ? indentOfLine(text, last.offset)
    : indentOfLine(text, parent.offset) + style.indent;
  const property = `${indent}${name}${renderBlock(value, indent, style, name.length)}`;
  const rest = restOfLine(text, lastEnd);
  if (rest === undefined) return [{ offset: lastEnd, length: 0, content: `,${style.eol}${property}` }];
  // After the last property's comma and comments; a trailing comma there gets one here too.
  const edits: Edit[] = [
    { offset: rest.eol, length: 0, content: `${style.eol}${property}${rest.comma ? ',' : ''}` },
  ];
  if (!rest.comma) edits.unshift({ offset: lastEnd, length: 0, content: ',' });
  return edits;
}

function removalEdits(text: string, path: string[], property: Node): Edit[] {
  const parent = property.parent;
  const siblings = parent?.children ?? [];
  const index = siblings.indexOf(property);
  const end = property.offset + property.length;
  const rest = restOfLine(text, end);
  const isLast = index === siblings.length - 1;
  if (parent !== undefined && siblings.length === 1) {
    // The only property: the object becomes `{}` when nothing but blanks would be left in it.
    const start = parent.offset + 1;
    const stop = parent.offset + parent.length - 1;
    const left = text.slice(start, property.offset) + text.slice(end, stop);
    if (/^[\s,]*$/.test(left)) return [{ offset: start, length: stop - start, content: '' }];
  }
  if (startsLine(text, property.offset) && rest !== undefined && (isLast || rest.comma)) {
    // A property on lines of its own goes with its lines, its comma and its end-of-line comment.
    const lineStart = lineStartOf(text, property.offset);
    const lineEnd = rest.eol + (text.startsWith('\r\n', rest.eol) ? 2 : text[rest.eol] === '\n' ? 1 : 0);
    const edits: Edit[] = [{ offset: lineStart, length: lineEnd - lineStart, content: '' }];
    const previous = siblings[index - 1];
    if (isLast && !rest.comma && previous !== undefined) {
      // The new last property loses its comma (unless the person writes trailing commas).
      const comma = commaAfter(text, previous.offset + previous.length, lineStart);
      if (comma !== undefined) edits.unshift({ offset: comma, length: 1, content: '' });
    }
    return edits;
  }
  return modify(text, path, undefined, {});
}

/** Where the line of `offset` ends, if only a comma, blanks and comments follow on it. */
function restOfLine(text: string, offset: number): { comma: boolean; eol: number } | undefined {
  const match = REST_OF_LINE.exec(text.slice(offset));
  if (match === null) return undefined;
  return { comma: match[1] === ',', eol: offset + match[0].length };
}
const REST_OF_LINE = /^[ \t]*(,?)[ \t]*(?:(?:\/\/[^\r\n]*|\/\*(?:[^*\r\n]|\*(?!\/))*\*\/)[ \t]*)*(?=\r?\n|$)/;

/** The offset of the comma between `from` and `to` (past blanks and comments), if there is one. */
function commaAfter(text: string, from: number, to: number): number | undefined {
  const match = /^(?:\s|\/\/[^\r\n]*|\/\*[\s\S]*?\*\/)*,/.exec(text.slice(from, to));
  return match === null ? undefined : from + match[0].length - 1;
}

function lineStartOf(text: string, offset: number): number {
  let start = offset;
  while (start > 0 && text[start - 1] !== '\n' && text[start - 1] !== '\r') start--;
  return start;
}

function indentOfLine(text: string, offset: number): string {
  return /^[ \t]*/.exec(text.slice(lineStartOf(text, offset)))?.[0] ?? '';
}

function startsLine(text: string, offset: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStartOf(text, offset), offset));
}

function spansLines(text: string, node: Node): boolean {
  return /[\r\n]/.test(text.slice(node.offset, node.offset + node.length));
}

/** A value on one line, spaced as people write it: `["-y", "x"]`, `{ "A": "1" }`. */
export function renderInline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(renderInline).join(', ')}]`;
  if (isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${renderInline(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A value over several lines, its lines indented from `base`: objects one key per line, arrays of
 * scalars on one line while it stays short (as Prettier lays them out). `prefix` is the length of
 * what precedes the value on its first line.
 */
export function renderBlock(value: unknown, base: string, style: TextStyle, prefix: number): string {
  const inner = base + style.indent;
  if (Array.isArray(value)) {
    const inline = renderInline(value);
    const scalars = value.every((item) => !Array.isArray(item) && !isRecord(item));
    if (value.length === 0 || (scalars && base.length + prefix + inline.length <= INLINE_ARRAY_WIDTH)) {
      return inline;
    }
    const items = value.map((item) => `${inner}${renderBlock(item, inner, style, 0)}`);
    return `[${style.eol}${items.join(`,${style.eol}`)}${style.eol}${base}]`;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const lines = entries.map(([k, v]) => {
      const name = `${JSON.stringify(k)}: `;
      return `${inner}${name}${renderBlock(v, inner, style, name.length)}`;
    });
    return `{${style.eol}${lines.join(`,${style.eol}`)}${style.eol}${base}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
