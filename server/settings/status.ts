/**
 * The settings file's state as the admin API shows it (`GET /api/settings/status`): valid, or the
 * last rejected edit with each problem's path and, where the text shows it, its line and column;
 * plus the keys Gatehouse keeps but does not use. Never the file's text: it may hold secrets.
 */
import { getLocation, parseTree } from 'jsonc-parser';
import type { ErrorCode, GatehouseError } from '../errors.js';
import { findNode, JSONC_OPTIONS, lineColumnAt, splitBom } from './json-text.js';
import type { SettingsWarning } from './known-keys.js';
import { formatPath, parsePath, type SettingsProblem } from './validate.js';

export type { SettingsWarning } from './known-keys.js';

/** A problem with its place in the file, when it could be found there (1-based). */
export interface LocatedProblem extends SettingsProblem {
  line?: number;
  column?: number;
}

/** An edit of the file that was not applied. */
export interface SettingsRejection {
  code: ErrorCode;
  message: string;
  problems: LocatedProblem[];
  /** When it was rejected (ms since the epoch). */
  at: number;
}

/** What `GET /api/settings/status` answers. */
export interface SettingsStatus {
  file: string;
  /** False while the file on disk is rejected; the last good settings are live meanwhile. */
  valid: boolean;
  rejected?: SettingsRejection;
  warnings: SettingsWarning[];
}

const MAX_PROBLEMS = 50;

/** The rejection of `text` (undefined when the file could not be read) because of `error`. */
export function describeRejection(
  error: GatehouseError,
  text: string | undefined,
  at: number,
): SettingsRejection {
  const body = text === undefined ? undefined : splitBom(text).body;
  const problems = problemsOf(error, body).slice(0, MAX_PROBLEMS);
  return { code: error.code, message: error.message, problems: locate(problems, body), at };
}

function problemsOf(error: GatehouseError, body: string | undefined): LocatedProblem[] {
  const details = error.details ?? {};
  const { offset, line, column, reason } = details;
  if (typeof offset === 'number' && typeof line === 'number' && typeof column === 'number') {
    // A syntax error: the parser knows the place; the path around it helps find it.
    const path: (string | number)[] = [];
    for (const segment of body === undefined ? [] : getLocation(body, offset).path) {
      if (segment === '') break;
      path.push(segment);
    }
    return [{ path: formatPath(path), message: `not valid JSON: ${String(reason)}`, line, column }];
  }
  if (Array.isArray(details.problems)) {
    return (details.problems as SettingsProblem[]).map(({ path, message }) => ({ path, message }));
  }
  if (Array.isArray(details.missing)) {
    return (details.missing as { path: string; variable: string }[]).map(({ path, variable }) => ({
      path,
      message: `environment variable ${variable} is not set`,
    }));
  }
  return [];
}

/** Adds the line and column of each problem's path: the key it names, else its nearest parent. */
function locate(problems: LocatedProblem[], body: string | undefined): LocatedProblem[] {
  if (body === undefined || problems.every((p) => p.line !== undefined)) return problems;
  const root = parseTree(body, [], JSONC_OPTIONS);
  if (root === undefined) return problems;
  return problems.map((problem) => {
    const segments = problem.line === undefined ? parsePath(problem.path) : undefined;
    if (segments === undefined) return problem;
    for (let depth = segments.length; depth >= 0; depth--) {
      const node = findNode(root, segments.slice(0, depth));
      if (node === undefined) continue;
      const offset = node.parent?.type === 'property' ? node.parent.offset : node.offset;
      return { ...problem, ...lineColumnAt(body, offset) };
    }
    return problem;
  });
}
