/**
 * The raw editor's view of the settings file (issue 12, "Raw editor"): the person's text without
 * the gateway's `gatehouse` fields and with every stored secret shown as a marker, and the way
 * back: a saved text gets the fields and secrets of the file on disk again. Both directions edit
 * the text in place (json-edit.ts), so comments and layout are the person's.
 */
import { markSecrets } from './form-secrets.js';
import { serverEntry } from './gateway-fields.js';
import { editJsonText } from './json-edit.js';
import { formatLike, isRecord, parseJsonText, sha256Hex } from './json-text.js';
import { formatPath, type SettingsProblem } from './validate.js';

type Raw = Record<string, unknown>;

/** Stands for a stored secret in the raw editor's text; saved back, it keeps the stored value. */
export const SECRET_MARKER = '<secret: set>';

/** The text the raw editor shows, and its version (a hash of that text). */
export interface EditorView {
  text: string;
  version: string;
}

/**
 * The raw editor's text of the settings text `text`: every `gatehouse` field removed, every
 * secret value (stored encrypted, or a credential written in plain) replaced by `SECRET_MARKER`.
 * Its version changes when that text changes, not when the gateway writes credentials.
 * @throws GatehouseError SETTINGS_INVALID_JSON when `text` does not parse.
 */
export function editorView(text: string, file: string): EditorView {
  const raw = parseJsonText(text, file);
  let shown = text;
  if (isRecord(raw) && isRecord(raw.mcpServers)) {
    const after = structuredClone(raw);
    for (const entry of Object.values(after.mcpServers as Raw)) {
      if (!isRecord(entry)) continue;
      delete entry.gatehouse;
      markSecrets(entry, SECRET_MARKER);
    }
    shown = editJsonText(text, raw, after) ?? formatLike(after, text);
  }
  return { text: shown, version: sha256Hex(shown).slice(0, 32) };
}

/**
 * The text to write for a raw editor's save `proposed`, given the file's text on disk now: each
 * server keeps the `gatehouse` field it has on disk (one typed into `proposed` is dropped), and
 * each `SECRET_MARKER` becomes the value stored at the same server and path. A marker with no
 * stored value there (the server was renamed in the text, say) is a problem, and nothing is written.
 * @throws GatehouseError SETTINGS_INVALID_JSON when `proposed` or `disk` does not parse.
 */
export function restoreFromDisk(
  proposed: string,
  disk: string,
  file: string,
): { text: string; problems: SettingsProblem[] } {
  const next = parseJsonText(proposed, file);
  const stored = parseJsonText(disk, file);
  const problems: SettingsProblem[] = [];
  if (!isRecord(next) || !isRecord(next.mcpServers)) return { text: proposed, problems };
  const after = structuredClone(next);
  for (const [name, entry] of Object.entries(after.mcpServers as Raw)) {
    if (!isRecord(entry)) continue;
    const onDisk = isRecord(stored) ? serverEntry(stored, name) : undefined;
    delete entry.gatehouse;
    if (onDisk?.gatehouse !== undefined) entry.gatehouse = structuredClone(onDisk.gatehouse);
    for (const path of markersIn(entry)) {
      const value = onDisk === undefined ? undefined : valueAt(onDisk, path);
      if (typeof value === 'string') {
        putAt(entry, path, value);
      } else {
        problems.push({
          path: formatPath(['mcpServers', name, ...path], after),
          message: `"${SECRET_MARKER}" stands for the secret stored here, but none is stored at this place (was the server renamed?); type the value again`,
        });
      }
    }
  }
  if (problems.length > 0) return { text: proposed, problems };
  return { text: editJsonText(proposed, next, after) ?? formatLike(after, proposed), problems };
}

/** Paths (inside an entry) of every string that is the marker. */
function markersIn(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value === SECRET_MARKER) return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => markersIn(item, [...path, i]));
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => markersIn(item, [...path, key]));
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let node = value;
  for (const key of path) {
    if (Array.isArray(node) && typeof key === 'number') node = node[key];
    else if (isRecord(node) && typeof key === 'string' && Object.hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

function putAt(root: Raw, path: readonly (string | number)[], value: unknown): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  (node as Record<string | number, unknown>)[path.at(-1) as string | number] = value;
}
