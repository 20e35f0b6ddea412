/**
 * `POST /api/servers/import`: a pasted Claude Desktop, Cursor or VS Code configuration (or a bare
 * map of servers) turned into servers to add. Without `apply` it previews each server: its entry
 * (secrets redacted), whether its name clashes with a server or group, and its problems (checked
 * as the file would load it: schema, `${VAR}`). With `apply: true` (and names changed through
 * `rename`) it adds, in one write, those that neither clash nor have problems.
 */
import type { FastifyInstance } from 'fastify';
import { isGatehouseError } from '../errors.js';
import { redactEntry } from '../settings/form-secrets.js';
import { isRecord } from '../settings/json-text.js';
import { checkName, type SettingsEditor } from '../settings/server-edits.js';
import { parseSnippet } from '../settings/snippet.js';
import { describeRejection, type LocatedProblem } from '../settings/status.js';
import type { SettingsStore } from '../settings/store.js';
import { formatPath } from '../settings/validate.js';

export interface ImportRoutesOptions {
  editor: SettingsEditor;
  store: SettingsStore;
}

/** One server of a pasted snippet, as the preview shows it. */
export interface ImportCandidate {
  name: string;
  /** Redacted like every entry the API shows. */
  entry: unknown;
  /** A server or group already has the name (or another server of the snippet does). */
  clash: boolean;
  /** Paths are relative to the entry (`url`, `oauth.scopes`); `name` for the name itself. */
  problems: LocatedProblem[];
}

interface ImportBody {
  snippet: string;
  apply?: boolean;
  rename?: Record<string, string>;
}

/** The import route; registered behind the admin guard. */
export async function importRoutes(app: FastifyInstance, opts: ImportRoutesOptions): Promise<void> {
  app.post<{ Body: ImportBody }>(
    '/api/servers/import',
    {
      schema: {
        body: {
          type: 'object',
          required: ['snippet'],
          properties: {
            snippet: { type: 'string' },
            apply: { type: 'boolean' },
            rename: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
    },
    async (req) => {
      const { candidates, entries } = await preview(opts.store, req.body);
      if (req.body.apply !== true) return { servers: candidates };
      const ready = candidates.filter((c) => !c.clash && c.problems.length === 0);
      const added = await opts.editor.addMany(
        ready.map((c) => ({ name: c.name, entry: entries.get(c.name) })),
      );
      return { added, servers: candidates };
    },
  );
}

/** The candidates of a snippet, and their entries as pasted (unredacted) by name. */
async function preview(
  store: SettingsStore,
  body: ImportBody,
): Promise<{ candidates: ImportCandidate[]; entries: Map<string, unknown> }> {
  const current = store.current;
  const parsed = parseSnippet(body.snippet).map(({ name, entry }) => ({
    name: body.rename?.[name] ?? name,
    entry,
  }));
  const seen = new Map<string, number>();
  for (const { name } of parsed) seen.set(name, (seen.get(name) ?? 0) + 1);
  const entries = new Map<string, unknown>();
  const candidates: ImportCandidate[] = [];
  for (const { name, entry } of parsed) {
    entries.set(name, entry);
    candidates.push({
      name,
      entry: isRecord(entry) ? redactEntry(entry) : entry,
      clash: current.servers.has(name) || current.groups.has(name) || (seen.get(name) ?? 0) > 1,
      problems: await problemsOf(store, name, entry),
    });
  }
  return { candidates, entries };
}

/** What keeps one entry from loading, checked alone as the file would load it. */
async function problemsOf(store: SettingsStore, name: string, entry: unknown): Promise<LocatedProblem[]> {
  try {
    checkName(name);
  } catch (error) {
    return [{ path: 'name', message: isGatehouseError(error) ? error.message : String(error) }];
  }
  if (!isRecord(entry)) return [{ path: '(entry)', message: 'must be an object' }];
  try {
    await store.check({ mcpServers: { [name]: entry } });
    return [];
  } catch (error) {
    if (!isGatehouseError(error)) throw error;
    const prefix = formatPath(['mcpServers', name]);
    return describeRejection(error, undefined, 0).problems.map((problem) => ({
      ...problem,
      path:
        problem.path === prefix
          ? '(entry)'
          : problem.path.startsWith(`${prefix}.`)
            ? problem.path.slice(prefix.length + 1)
            : problem.path.startsWith(`${prefix}[`)
              ? problem.path.slice(prefix.length)
              : problem.path,
    }));
  }
}
