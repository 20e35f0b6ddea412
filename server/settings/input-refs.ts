/**
 * `${input:<id>}` references (VS Code's `mcp.json` convention): values a person types in, declared
 * by a server entry's `inputs` and used in its `url`, `headers` values and `env` values. They are
 * left in the settings as written (`${VAR}` interpolation skips them) and replaced only when the
 * server connects (upstream/inputs.ts). Pure.
 */

/** `${input:<id>}`, or `$${input:<id>}`: the escape for that literal text. */
const INPUT_REFERENCE = /\$(\$?)\{input:([^}]*)\}/g;

/** What an input id may be: letters, digits, `_`, `-` and `.` (the schema says the same). */
export const INPUT_ID = /^[A-Za-z0-9_.-]+$/;

/** True when `inner` (the text between `${` and `}`) is an input reference. */
export function isInputReference(inner: string): boolean {
  return inner.startsWith('input:');
}

/**
 * Whether a server entry field may use `${input:…}`: `url`, and the values of `headers` and `env`.
 * `path` is the field's path inside the entry, e.g. `['headers', 'Authorization']`.
 */
export function takesInputs(path: readonly string[]): boolean {
  return (
    (path.length === 1 && path[0] === 'url') ||
    (path.length === 2 && (path[0] === 'headers' || path[0] === 'env'))
  );
}

/** The ids `text` references (escaped ones are not references), in order of appearance. */
export function inputIdsIn(text: string): string[] {
  const ids: string[] = [];
  for (const match of text.matchAll(INPUT_REFERENCE)) {
    if (match[1] !== '$') ids.push(match[2]!);
  }
  return ids;
}

/**
 * `text` with each `${input:<id>}` replaced by its value and each `$${input:<id>}` by the literal
 * text `${input:<id>}`. Ids without a value are collected in `missing` (and left in the text).
 */
export function replaceInputs(
  text: string,
  values: Readonly<Record<string, string>>,
  missing: Set<string>,
): string {
  if (!text.includes('{input:')) return text;
  return text.replace(INPUT_REFERENCE, (whole, escape: string, id: string) => {
    if (escape === '$') return whole.slice(1);
    const value = Object.hasOwn(values, id) ? values[id] : undefined;
    if (value === undefined) {
      missing.add(id);
      return whole;
    }
    return value;
  });
}
