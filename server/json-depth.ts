/**
 * How deeply a JSON text nests, measured without parsing it. Messages from clients and documents
 * from authorization servers are checked before anything recursive (the SDK's schema validation,
 * structuredClone, JSON.stringify) walks them: a few thousand nested arrays overflow the stack there.
 */

/** Deeper than any real MCP message or OAuth metadata document; far below what overflows the stack. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether `text`, read as JSON, nests objects and arrays more than `limit` levels deep. Brackets
 * inside strings do not count. Linear in the text's length; no allocation. Text that is not JSON
 * gives an answer that means nothing, which is fine: the parser refuses it next.
 */
export function nestsDeeperThan(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
