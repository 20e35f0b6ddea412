/**
 * Schema validation of the settings file with ajv, turned into plain-words problems that name a
 * dotted path (`mcpServers.github.url: must be an absolute http(s) URL`) instead of raw ajv text.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { GatehouseError } from '../errors.js';
import schema from './schema.json' with { type: 'json' };

/** One thing wrong with the settings, at a dotted path (`mcpServers.files.args[0]`). */
export interface SettingsProblem {
  path: string;
  message: string;
}

/** Checks parsed settings against the shipped schema; returns every problem found (none: valid). */
export type SchemaValidator = (data: unknown) => SettingsProblem[];

/**
 * Compiles the shipped JSON Schema once; call the result for each document.
 * `errorMessage` in the schema (a keyword VS Code also understands) overrides ajv's text for the
 * subschema that carries it.
 */
export function createSchemaValidator(): SchemaValidator {
  // allErrors: report every problem at once, so a person fixes the file in one go.
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strictSchema: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  // ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
  ajvFormats.default(ajv, ['uri']);
  ajv.addFormat('http-url', isHttpUrl);
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
  const validate: ValidateFunction = ajv.compile(schema);
  return (data) => (validate(data) ? [] : toProblems(validate.errors ?? [], data));
}

/** True for an absolute `http:` or `https:` URL with a host. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

const MESSAGE_LINES = 20;

/**
 * The SETTINGS_INVALID error for a list of problems: one line per problem in the message (the
 * first 20), every problem in `details.problems`.
 */
export function invalidSettingsError(problems: SettingsProblem[], file?: string): GatehouseError {
  const lines = problems.slice(0, MESSAGE_LINES).map((p) => `${p.path}: ${p.message}`);
  if (problems.length > MESSAGE_LINES) lines.push(`…and ${problems.length - MESSAGE_LINES} more problems`);
  const message = lines.join('\n');
  return new GatehouseError('SETTINGS_INVALID', message, { details: { file, problems } });
}

function toProblems(errors: ErrorObject[], data: unknown): SettingsProblem[] {
  const seen = new Set<string>();
  const problems: SettingsProblem[] = [];
  for (const error of errors) {
    // Branch failures of anyOf are summed up by the anyOf error itself; `if` only wraps `then`.
    if (error.schemaPath.includes('/anyOf/') || error.keyword === 'if' || error.keyword === 'propertyNames') {
      continue;
    }
    const segments = pointerSegments(error.instancePath);
    if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
    const problem = { path: formatPath(segments, data), message: describe(error) };
    const key = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

function describe(error: ErrorObject): string {
  const custom: unknown = (error.parentSchema as Record<string, unknown> | undefined)?.errorMessage;
  if (typeof custom === 'string' && error.keyword !== 'required') return custom;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'type':
      return `must be ${typeNames(String(params.type))} (got ${typeOf(error.data)})`;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return `must be one of ${allowed} (got ${shortValue(error.data)})`;
    }
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'minLength':
      return params.limit === 1
        ? 'must not be empty'
        : `must have at least ${String(params.limit)} characters`;
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    default:
      return error.message ?? 'is not valid';
  }
}

function typeNames(types: string): string {
  const article = (t: string) => (t === 'array' || t === 'object' || t === 'integer' ? `an ${t}` : `a ${t}`);
  return types.split(',').map(article).join(' or ');
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

// Enum values here are transport names; still, never echo long strings (they might be secrets).
function shortValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 40 ? text : typeOf(value);
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * Formats a path into the settings as people write it: `mcpServers.files.args[0]`,
 * `mcpServers["my.server"].url`; the document itself is `(top level)`. A number, or a digit
 * string where `data` has an array, is an array index. `parsePath` reads the result back.
 */
export function formatPath(segments: readonly (string | number)[], data?: unknown): string {
  let out = '';
  let node: unknown = data;
  for (const item of segments) {
    const segment = String(item);
    if (typeof item === 'number' || (Array.isArray(node) && /^\d+$/.test(segment))) out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  }
  return out === '' ? '(top level)' : out;
}

const PATH_SEGMENT = /(?:^|\.)([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/**
 * The segments of a path written by `formatPath` (array indexes as numbers), or undefined when
 * `path` is not one.
 */
export function parsePath(path: string): (string | number)[] | undefined {
  if (path === '(top level)') return [];
  const segments: (string | number)[] = [];
  PATH_SEGMENT.lastIndex = 0;
  while (PATH_SEGMENT.lastIndex < path.length) {
    const match = PATH_SEGMENT.exec(path);
    if (match === null) return undefined;
    const [, key, index, quoted] = match;
    segments.push(key ?? (index !== undefined ? Number(index) : (JSON.parse(quoted ?? '""') as string)));
  }
  return segments;
}
