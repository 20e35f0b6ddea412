/**
 * The admin credential for the admin API and the dashboard (DESIGN.md, "Security baseline"): a
 * configured token, else one kept in a 0600 file beside the settings, generated on first run.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { readOrCreatePrivateFile } from '../settings/private-file.js';

/** Name of the token file beside the settings file. */
export const ADMIN_TOKEN_FILE = '.gatehouse-admin-token';

const GENERATED_BYTES = 32;
const SHORT_TOKEN = 16;

export interface AdminToken {
  token: string;
  /** `env`: configured (GATEHOUSE_ADMIN_TOKEN); `file`: read from the token file; `generated`: just created. */
  source: 'env' | 'file' | 'generated';
}

export interface ResolveAdminTokenOptions {
  /** The configured token (main passes GATEHOUSE_ADMIN_TOKEN); wins when non-empty. */
  configured?: string;
  /** Folder of the settings file; the token file lives there. */
  settingsDir: string;
  logger: Logger;
}

/**
 * Finds the admin token: the configured value, else the token file, else a new random token
 * (32 bytes, base64url) written to the token file with mode 0600.
 * @throws GatehouseError ADMIN_TOKEN_UNREADABLE when the token file cannot be read or created.
 */
export async function resolveAdminToken(options: ResolveAdminTokenOptions): Promise<AdminToken> {
  const configured = options.configured?.trim();
  if (configured) {
    if (configured.length < SHORT_TOKEN) {
      options.logger.warn(
        { length: configured.length },
        'The configured admin token is short; use 32 random bytes',
      );
    }
    return { token: configured, source: 'env' };
  }
  const file = await readOrCreatePrivateFile({
    path: join(options.settingsDir, ADMIN_TOKEN_FILE),
    create: () => randomBytes(GENERATED_BYTES).toString('base64url'),
    logger: options.logger,
    what: 'The admin token file',
    errorCode: 'ADMIN_TOKEN_UNREADABLE',
  });
  return { token: file.value, source: file.created ? 'generated' : 'file' };
}

/**
 * Checks an `Authorization` header against the admin token in constant time: both sides are
 * hashed first, so neither the content nor the length of the token leaks through timing.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1 (the `Bearer` scheme; case-insensitive per RFC 9110 §11.1)
 */
export function verifyBearer(header: string | undefined, token: string): boolean {
  if (header === undefined || token === '') return false;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  const presented = match?.[1] ?? '';
  // Compare even when the header is malformed, so that case takes the same time.
  const equal = timingSafeEqual(sha256(presented), sha256(token));
  return equal && match !== null;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
