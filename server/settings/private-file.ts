/**
 * Small secret files beside the settings (the encryption key, the admin token). They are created
 * once with mode 0600 and the exclusive flag `wx`, so two processes starting at the same moment
 * cannot both create one: the loser reads the winner's value.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatehouseError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

export interface PrivateFileOptions {
  path: string;
  /** Makes the value when the file does not exist yet. */
  create: () => string;
  logger: Logger;
  /** What the file holds, for messages: "The encryption key file". */
  what: string;
  /** Code of the error thrown when the file cannot be read or stays empty. */
  errorCode: ErrorCode;
}

export interface PrivateFile {
  /** The file's content without surrounding whitespace. */
  value: string;
  created: boolean;
}

const ATTEMPTS = 40;
const RETRY_MS = 25;

/**
 * Reads the secret file, or creates it with mode 0600. Warns (without the value) when an existing
 * file is readable by group or others.
 * @throws GatehouseError `errorCode` when the file cannot be read or written, or stays empty.
 */
export async function readOrCreatePrivateFile(options: PrivateFileOptions): Promise<PrivateFile> {
  const { path, what, errorCode } = options;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT')
        throw fileError(errorCode, `${what} ${path} cannot be read`, error, path);
    }
    if (text === undefined) {
      const value = options.create();
      if (await createExclusive(path, `${value}\n`, options)) return { value, created: true };
    } else if (text.trim() !== '') {
      await warnIfLoose(options);
      return { value: text.trim(), created: false };
    }
    // Empty: another process has created the file and is about to write it.
    await sleep(RETRY_MS);
  }
  throw new GatehouseError(errorCode, `${what} ${path} is empty`, { details: { file: path } });
}

async function createExclusive(path: string, content: string, options: PrivateFileOptions): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw fileError(options.errorCode, `${options.what} ${path} cannot be created`, error, path);
  }
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  options.logger.info({ file: path }, `${options.what} was created`);
  return true;
}

async function warnIfLoose({ path, what, logger }: PrivateFileOptions): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    logger.warn(
      { file: path, mode: (mode & 0o777).toString(8) },
      `${what} can be read by other users; restrict it with: chmod 600 ${path}`,
    );
  }
}

function fileError(code: ErrorCode, message: string, cause: unknown, path: string): GatehouseError {
  const reason = errnoCode(cause);
  return new GatehouseError(code, reason ? `${message} (${reason})` : message, {
    cause,
    details: { file: path },
  });
}

/** The `code` of a Node system error (`ENOENT`), if any. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
