/**
 * Reading a pasted configuration snippet of another MCP client (issue 12, "Paste"): Claude
 * Desktop's and Cursor's `{ "mcpServers": { … } }`, VS Code's `mcp.json` (`{ "servers": { … },
 * "inputs": [ … ] }`) or its settings.json (`{ "mcp": { "servers": … } }`), or a bare
 * `{ "<name>": { … } }` map, as JSON with comments and trailing commas. A fragment without the
 * outer braces (`"github": { … }`), as people copy it out of a larger file, is read too.
 */
import { GatehouseError, isGatehouseError } from '../errors.js';
import { isRecord, parseJsonText } from './json-text.js';

type Raw = Record<string, unknown>;

/** One server of a snippet, its entry in Gatehouse's format. */
export interface SnippetServer {
  name: string;
  entry: unknown;
}

const FILE = 'the pasted text';
const INPUT_REFERENCE = /\$\{input:([^}]+)\}/g;

/**
 * The servers of a snippet, in its order.
 * @throws GatehouseError SETTINGS_INVALID_JSON (with line and column) when the text does not
 *   parse; BAD_REQUEST when it holds no servers in a form Gatehouse knows.
 */
export function parseSnippet(text: string): SnippetServer[] {
  const doc = parseLeniently(text);
  const { servers, inputs } = serversOf(doc);
  return Object.entries(servers).map(([name, entry]) => ({ name, entry: fromClient(entry, inputs) }));
}

function parseLeniently(text: string): unknown {
  try {
    return parseJsonText(text, FILE);
  } catch (error) {
    if (!isGatehouseError(error, 'SETTINGS_INVALID_JSON')) throw error;
    try {
      return parseJsonText(`{${text}\n}`, FILE);
    } catch {
      throw error; // the person's own text's place is the useful one
    }
  }
}

function serversOf(doc: unknown): { servers: Raw; inputs: unknown } {
  if (isRecord(doc)) {
    if (isRecord(doc.mcpServers)) return { servers: doc.mcpServers, inputs: doc.inputs };
    if (isRecord(doc.mcp) && isRecord(doc.mcp.servers))
      return { servers: doc.mcp.servers, inputs: doc.mcp.inputs };
    if (isRecord(doc.servers)) return { servers: doc.servers, inputs: doc.inputs };
    if (looksLikeEntry(doc)) {
      throw new GatehouseError(
        'BAD_REQUEST',
        'The pasted text is one server without a name: write it as { "<name>": { … } }',
      );
    }
    const values = Object.values(doc);
    if (values.length > 0 && values.every(looksLikeEntry)) return { servers: doc, inputs: undefined };
  }
  throw new GatehouseError(
    'BAD_REQUEST',
    'The pasted text holds no servers: paste an "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code) block, or { "<name>": { … } }',
  );
}

function looksLikeEntry(value: unknown): boolean {
  return isRecord(value) && ('command' in value || 'url' in value || 'serverUrl' in value);
}

/**
 * One entry in Gatehouse's words: Windsurf's `serverUrl` is `url`; VS Code's top-level `inputs`
 * that the entry references (`${input:id}`) come along as the entry's own `inputs`; a `gatehouse`
 * field (another gateway's credentials, which would not decrypt here) is left out.
 */
function fromClient(entry: unknown, inputs: unknown): unknown {
  if (!isRecord(entry)) return entry;
  const out: Raw = structuredClone(entry);
  delete out.gatehouse;
  if (out.url === undefined && typeof out.serverUrl === 'string') {
    out.url = out.serverUrl;
    delete out.serverUrl;
  }
  if (out.inputs === undefined && Array.isArray(inputs)) {
    const used = new Set([...JSON.stringify(out).matchAll(INPUT_REFERENCE)].map((m) => m[1]));
    const own = inputs.filter((input): input is Raw => isRecord(input) && used.has(input.id as string));
    if (own.length > 0) {
      out.inputs = own.map(({ id, description, password }) => ({
        id,
        ...(description === undefined ? {} : { description }),
        ...(password === undefined ? {} : { password }),
      }));
    }
  }
  return out;
}
