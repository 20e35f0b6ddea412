/**
 * Crash-safe, merge-safe rewriting of one file that a person may be editing at the same time:
 * read, transform, write a temp file, fsync, rename over, fsync the folder (DESIGN.md, "Writes").
 * A crash leaves the old file or the new one, never a truncated one.
 *
 * Concurrent edits. The transform always runs on the newest text, and two checks close the
 * window between our read and our rename:
 * 1. Before the rename: the path must still name the inode we read and hold the text we read.
 *    Otherwise (an editor replaced the file, or someone wrote into it) we start over.
 * 2. After the rename: the old inode, which we still hold open, must still hold the text we read.
 *    A writer that opened the file before our rename (for example `fs.writeFile`, which truncates
 *    on open) writes into that inode; we take its text as the new base and transform it again.
 *    If someone saved again after our rename, that newer save wins instead.
 * Remaining windows: an editor whose rename-replace lands between check 1 and our rename (a few
 * microseconds; Linux's renameat2(RENAME_EXCHANGE) would close it, Node does not expose it); an
 * in-place writer that opens without truncating and writes after check 2; and, for the few
 * milliseconds until check 2's merge is written, the file does not show the merged save, so a
 * tool that reads and saves again in that moment builds on the file without it.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { isCompleteJsonText } from './json-text.js';
import { unreadableError } from './load.js';
import { errnoCode } from './private-file.js';

export interface AtomicUpdateOptions {
  path: string;
  logger: Logger;
  /**
   * Computes the new text from the current one; `undefined` means "nothing to write". Called once
   * per attempt, always with the newest text. Throwing SETTINGS_INVALID_JSON means "the text is
   * not complete yet" (a person is mid-save): it is read again a few times before giving up.
   */
  transform: (current: string) => Promise<string | undefined>;
}

export interface AtomicUpdateResult {
  /** The text now in the file. */
  text: string;
  written: boolean;
}

// A burst of saves (a script, an editor's auto-save) could starve us: between attempts, pause a
// random time growing exponentially up to 100 ms. Fifty conflicts in a row means something is wrong.
const MAX_ATTEMPTS = 50;
const MAX_PAUSE_MS = 100;
const INCOMPLETE_RETRIES = 40;
const RETRY_MS = 25;

/**
 * Applies `transform` to the file at `path` atomically (see the module comment).
 * @throws GatehouseError SETTINGS_UNREADABLE when the file is missing; SETTINGS_WRITE_FAILED when
 *   it cannot be written or keeps changing; any error of `transform`.
 */
export async function atomicUpdate(options: AtomicUpdateOptions): Promise<AtomicUpdateResult> {
  const { path } = options;
  let base: string | undefined; // someone else's text recovered by check 2
  let written: string | undefined; // what our last rename put in place
  let incomplete = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS;) {
    const handle = await openForRead(path);
    try {
      const before = await readAll(handle);
      // A save made after our rename is newer than the recovered text: the newest save wins.
      if (base !== undefined && before !== written) base = undefined;
      let next: string | undefined;
      try {
        next = await options.transform(base ?? before);
      } catch (error) {
        if (
          !isGatehouseError(error, 'SETTINGS_INVALID_JSON') ||
          base !== undefined ||
          ++incomplete > INCOMPLETE_RETRIES
        ) {
          throw error;
        }
        await sleep(RETRY_MS);
        continue;
      }
      attempt++;
      if (next === undefined) {
        if (base === undefined) return { text: before, written: false };
        next = base; // the recovered text itself is not on disk yet
      }
      const fileStat = await handle.stat();
      if (!(await replace(path, handle, fileStat.ino, before, next, fileStat.mode & 0o7777, options))) {
        options.logger.debug(
          { file: path, reason: 'changed-before-rename' },
          'Settings changed meanwhile; retrying',
        );
        base = undefined;
        await sleep(Math.random() * Math.min(MAX_PAUSE_MS, 2 ** attempt));
        continue;
      }
      written = next;
      const after = await readAll(handle);
      if (after !== before) {
        const theirs = await completeText(handle);
        if (theirs !== undefined) {
          options.logger.debug({ file: path, reason: 'changed-during-rename' }, 'Merging a concurrent edit');
          base = theirs;
          continue;
        }
        options.logger.error(
          { file: path },
          'A concurrent edit of the settings file never completed; it was not merged',
        );
      }
      return { text: next, written: true };
    } finally {
      await handle.close();
    }
  }
  throw new GatehouseError(
    'SETTINGS_WRITE_FAILED',
    `${path} kept changing while the gateway was writing it`,
    {
      details: { file: path },
    },
  );
}

/** Check 1 and the rename. Returns false when the file changed since `before` was read. */
async function replace(
  path: string,
  handle: FileHandle,
  inode: number,
  before: string,
  next: string,
  mode: number,
  options: AtomicUpdateOptions,
): Promise<boolean> {
  const temp = await writeTempFile(path, next, mode);
  let renamed = false;
  try {
    const current = await stat(path).catch(() => undefined);
    if (current?.ino !== inode || (await readAll(handle)) !== before) return false;
    await rename(temp, path);
    renamed = true;
  } catch (error) {
    throw new GatehouseError('SETTINGS_WRITE_FAILED', `${path} could not be replaced`, { cause: error });
  } finally {
    if (!renamed) await rm(temp, { force: true });
  }
  await fsyncDir(dirname(path)).catch((error: unknown) => {
    // The rename is done; only its durability across a power loss is in doubt.
    options.logger.warn({ file: path, code: errnoCode(error) }, 'Could not fsync the settings folder');
  });
  return true;
}

async function openForRead(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw unreadableError(path, error);
  }
}

/** Reads the text a concurrent writer is putting into `handle`'s inode, once it parses (as JSONC). */
async function completeText(handle: FileHandle): Promise<string | undefined> {
  for (let i = 0; i < INCOMPLETE_RETRIES; i++) {
    const text = await readAll(handle);
    if (isCompleteJsonText(text)) return text;
    await sleep(RETRY_MS);
  }
  return undefined;
}

/** Reads a whole file from offset 0 through an open handle (works after the path is replaced). */
export async function readAll(handle: FileHandle): Promise<string> {
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    chunks.push(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes `text` to a new temp file beside `path` (`<file>.tmp-<random>`) with exactly `mode`,
 * fsynced; returns its path.
 */
export async function writeTempFile(path: string, text: string, mode: number): Promise<string> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.chmod(mode); // open's mode is reduced by the umask
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw new GatehouseError('SETTINGS_WRITE_FAILED', `${temp} could not be written`, { cause: error });
  }
  await handle.close();
  return temp;
}

/** fsyncs a folder so a rename in it survives a crash. Skipped where folders cannot be opened. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads a file until two reads a moment apart agree, so a save in progress is not taken for
 * the final text.
 * @throws the read error (ENOENT when the file is gone).
 */
export async function readStableText(path: string, pauseMs = 20, maxReads = 10): Promise<string> {
  const read = async () => {
    const handle = await open(path, 'r');
    try {
      return await readAll(handle);
    } finally {
      await handle.close();
    }
  };
  let previous = await read();
  for (let i = 1; i < maxReads; i++) {
    await sleep(pauseMs);
    const current = await read();
    if (current === previous) return current;
    previous = current;
  }
  return previous;
}
