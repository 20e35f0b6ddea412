/**
 * The settings document as JSON text: parsing with a line and column on errors, hashing,
 * canonical JSON for fingerprints, and writing it back in the person's own indentation.
 */
import { createHash } from 'node:crypto';
import { GatehouseError } from '../errors.js';

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

/**
 * Parses settings text. A leading byte order mark (Windows editors) is ignored.
 *
 * @throws GatehouseError SETTINGS_INVALID_JSON naming the file, line and column when V8 reports a
 *   position. The message never quotes the file's text: it may hold secrets.
 */
export function parseJsonText(text: string, file: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error);
    const reason = raw
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/^Unexpected end of JSON input$/, 'the text ends too early');
    const at = /at position (\d+)/.exec(raw)?.[1];
    const position = at !== undefined ? Number(at) : /end of JSON input/.test(raw) ? body.length : undefined;
    const where = position === undefined ? '' : ` at ${lineColumn(body, position)}`;
    const empty = body.trim() === '';
    return throwInvalid(
      `${file}: ${empty ? 'the file is empty' : `not valid JSON${where}: ${reason}`}`,
      file,
      error,
    );
  }
}

function throwInvalid(message: string, file: string, cause: unknown): never {
  throw new GatehouseError('SETTINGS_INVALID_JSON', message, { cause, details: { file } });
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/**
 * Serializes `value` the way `original` was written: same indentation (tabs or N spaces, default
 * 2), same line endings, with a trailing newline.
 */
export function formatLike(value: unknown, original?: string): string {
  const indentMatch = original === undefined ? null : /^([ \t]+)["}\]]/m.exec(original);
  const indent = indentMatch?.[1]?.startsWith('\t') ? '\t' : (indentMatch?.[1]?.length ?? 2);
  const text = JSON.stringify(value, null, indent) + '\n';
  return original?.includes('\r\n') ? text.replaceAll('\n', '\r\n') : text;
}
