/**
 * The settings document as text: parsing JSON with comments and trailing commas (JSONC, as VS Code
 * and Cursor settings files allow) with a line and column on errors, hashing, canonical JSON for
 * fingerprints, and positions of values in the text.
 */
import { createHash } from 'node:crypto';
import { parseTree, printParseErrorCode, type Node, type ParseError, type ParseOptions } from 'jsonc-parser';
import { GatehouseError } from '../errors.js';

/** The dialect Gatehouse reads: comments and trailing commas, like VS Code's settings files. */
export const JSONC_OPTIONS: ParseOptions = { allowTrailingComma: true, disallowComments: false };

const BOM = '\uFEFF';

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** JSON with object keys sorted at every depth, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

/** Splits off a leading byte order mark (Windows editors write one); offsets are into `body`. */
export function splitBom(text: string): { bom: string; body: string } {
  return text.startsWith(BOM) ? { bom: BOM, body: text.slice(1) } : { bom: '', body: text };
}

/**
 * Parses settings text: JSON, or JSONC with comments and trailing commas. A leading byte order
 * mark is ignored.
 *
 * @throws GatehouseError SETTINGS_INVALID_JSON naming the file, line and column, with `details`
 *   `{ file, line, column, offset }`. The message never quotes the file's text: it may hold secrets.
 */
export function parseJsonText(text: string, file: string): unknown {
  const { body } = splitBom(text);
  try {
    // Most files are plain JSON, and V8's parser is several times faster than a JSONC one.
    return JSON.parse(body) as unknown;
  } catch {
    // Comments, trailing commas, or a real mistake: the JSONC parser tells which, and where.
  }
  if (body.trim() === '') {
    throw new GatehouseError('SETTINGS_INVALID_JSON', `${file}: the file is empty`, { details: { file } });
  }
  const errors: ParseError[] = [];
  const root = parseTree(body, errors, JSONC_OPTIONS);
  const first = errors[0];
  if (first === undefined && root !== undefined) return nodeValue(root);
  const offset = first?.offset ?? body.length;
  const { line, column } = lineColumnAt(body, offset);
  const reason = first === undefined ? 'a value is expected' : describeParseError(first, body);
  throw new GatehouseError(
    'SETTINGS_INVALID_JSON',
    `${file}: not valid JSON at line ${line}, column ${column}: ${reason}`,
    { details: { file, line, column, offset, reason } },
  );
}

/** True when `text` parses (as JSONC): a save in progress is usually cut off and does not. */
export function isCompleteJsonText(text: string): boolean {
  const { body } = splitBom(text);
  const errors: ParseError[] = [];
  return body.trim() !== '' && parseTree(body, errors, JSONC_OPTIONS) !== undefined && errors.length === 0;
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lineStart };
}

/**
 * The value of a jsonc-parser node. Built by hand rather than with the library's `parse`, which
 * assigns `obj[key] = value` and so turns a `"__proto__"` key into a prototype; here every key
 * becomes an own property, as with `JSON.parse`. A repeated key keeps its last value, as there.
 */
export function nodeValue(node: Node): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? [];
        if (key === undefined || value === undefined) continue;
        Object.defineProperty(out, key.value as string, {
          value: nodeValue(value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value as unknown;
  }
}

/**
 * The node at `path` (object keys and array indexes). Where a key repeats, the last one counts,
 * as in `JSON.parse` (jsonc-parser's `findNodeAtLocation` takes the first).
 */
export function findNode(root: Node, path: readonly (string | number)[]): Node | undefined {
  let node: Node | undefined = root;
  for (const segment of path) {
    if (node === undefined) return undefined;
    if (node.type === 'object' && typeof segment === 'string') {
      const property: Node | undefined = node.children?.findLast((p) => p.children?.[0]?.value === segment);
      node = property?.children?.[1];
    } else if (node.type === 'array' && typeof segment === 'number') {
      node = node.children?.[segment];
    } else {
      return undefined;
    }
  }
  return node;
}

// jsonc-parser's error codes in plain words.
const PARSE_ERRORS: Record<string, string> = {
  InvalidSymbol:
    'unexpected characters (a value must be a "string", a number, true, false, null, [ ] or { })',
  InvalidNumberFormat: 'a number is not written correctly',
  PropertyNameExpected: 'a key in double quotes is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: 'a colon (:) is expected after the key',
  CommaExpected: 'a comma is missing',
  CloseBraceExpected: 'a closing } is missing',
  CloseBracketExpected: 'a closing ] is missing',
  EndOfFileExpected: 'there is more text after the end of the document',
  InvalidCommentToken: 'a comment is not written correctly',
  UnexpectedEndOfComment: 'a /* comment is not closed',
  UnexpectedEndOfString: 'a string is not closed (a " is missing)',
  UnexpectedEndOfNumber: 'a number ends too early',
  InvalidUnicode: 'a \\u escape is not valid',
  InvalidEscapeCharacter: 'a backslash escape is not valid',
  InvalidCharacter: 'a string holds a line break or control character; escape it (\\n)',
};

function describeParseError(error: ParseError, body: string): string {
  const words = PARSE_ERRORS[printParseErrorCode(error.error)] ?? 'the text is not valid JSON';
  return error.offset >= body.trimEnd().length ? `the text ends too early: ${words}` : words;
}

/**
 * Serializes `value` the way `original` was written: same indentation (tabs or N spaces, default
 * 2), same line endings, with a trailing newline. Only the fallback of the format-preserving
 * editor (json-edit.ts) uses this.
 */
export function formatLike(value: unknown, original?: string): string {
  const indentMatch = original === undefined ? null : /^([ \t]+)["}\]]/m.exec(original);
  const indent = indentMatch?.[1]?.startsWith('\t') ? '\t' : (indentMatch?.[1]?.length ?? 2);
  const text = JSON.stringify(value, null, indent) + '\n';
  return original?.includes('\r\n') ? text.replaceAll('\n', '\r\n') : text;
}
