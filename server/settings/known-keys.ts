/**
 * Keys Gatehouse does not know. The file is the person's: such keys are kept and ignored, and
 * each is named once (a typo such as `comand` would otherwise go unnoticed). Which keys are known
 * is read from the shipped JSON Schema's `properties` at every level, so the schema stays the one
 * list; keys other MCP clients write that Gatehouse can safely ignore get a gentler note.
 */
import schema from './schema.json' with { type: 'json' };
import { formatPath } from './validate.js';

/** A key kept in the file that Gatehouse does not use. */
export interface SettingsWarning {
  /** Where it is: `mcpServers.files.comand`. */
  path: string;
  /**
   * `unknown`: no MCP client Gatehouse knows writes it (a typo?); `ignored`: another client's;
   * `unreadable`: a stored secret that does not decrypt (its server does not connect).
   */
  kind: 'unknown' | 'ignored' | 'unreadable';
  message: string;
}

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
}

const ROOT = schema as unknown as SchemaNode & { definitions: Record<string, SchemaNode> };

/**
 * Keys of other MCP clients that Gatehouse can leave alone without changing what it does, by the
 * place in the schema where they appear (a definition name, or its path inside one).
 */
const OTHER_CLIENTS: Record<string, Record<string, string>> = {
  server: {
    autoApprove: 'Cline',
    alwaysAllow: 'Roo Code',
    timeout: 'Cline and Roo Code',
    description: 'MCPHub',
    owner: 'MCPHub',
    keepAliveInterval: 'MCPHub',
    options: 'MCPHub',
  },
  'server.tools.*': { description: 'MCPHub' },
  group: { description: 'other tools' },
  mcphubGroup: { id: 'MCPHub', description: 'MCPHub', owner: 'MCPHub' },
  systemConfig: { install: 'MCPHub', smartRouting: 'MCPHub', mcpRouter: 'MCPHub' },
};

/** Every key in a raw settings document that the schema does not name, in document order. */
export function settingsWarnings(raw: unknown): SettingsWarning[] {
  const out: SettingsWarning[] = [];
  walk(raw, ROOT, '', [], out);
  return out;
}

/** `path` is shared along the walk (pushed and popped): most keys are known, so few are copied. */
function walk(
  value: unknown,
  at: SchemaNode,
  place: string,
  path: (string | number)[],
  out: SettingsWarning[],
): void {
  if (typeof value !== 'object' || value === null) return; // scalars hold no keys
  const { node, name } = resolve(at, place);
  if (Array.isArray(value)) {
    if (node.items === undefined) return;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], node.items, `${name}[]`, path, out);
      path.pop();
    }
    return;
  }
  const { properties, additionalProperties } = node;
  const extra = typeof additionalProperties === 'object' ? additionalProperties : undefined;
  for (const [key, item] of Object.entries(value)) {
    path.push(key);
    const known = properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (known !== undefined) walk(item, known, `${name}.${key}`, path, out);
    else if (extra !== undefined) walk(item, extra, `${name}.*`, path, out);
    else if (properties !== undefined && additionalProperties === undefined)
      out.push(warning(name, path, key));
    path.pop();
  }
}

function warning(place: string, path: (string | number)[], key: string): SettingsWarning {
  const client = OTHER_CLIENTS[place]?.[key];
  return client === undefined
    ? { path: formatPath(path), kind: 'unknown', message: 'unknown key, kept and ignored' }
    : {
        path: formatPath(path),
        kind: 'ignored',
        message: `used by ${client}, not by Gatehouse; kept and ignored`,
      };
}

/** Follows a `#/definitions/<name>` reference; a definition names the place from there on. */
function resolve(node: SchemaNode, place: string): { node: SchemaNode; name: string } {
  const ref = node.$ref?.match(/^#\/definitions\/(.+)$/)?.[1];
  const target = ref === undefined ? undefined : ROOT.definitions[ref];
  return target === undefined ? { node, name: place } : resolve(target, ref!);
}
