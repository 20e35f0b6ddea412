// Runs every test file under test/ with Node's test runner, TypeScript loaded through tsx.
// Node 20's `--test` has no glob support, so the files are listed here. Arguments select files
// whose path below test/ contains one of them (`node test/run.mjs settings main.test`).
//
// The spec reporter prints one line per test, then the counts and every failure again at the end.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'fixtures') out.push(...collect(path));
    } else if (name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
}

const files = collect(root).filter(
  (f) => only.length === 0 || only.some((o) => relative(root, f).includes(o)),
);
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    join(root, 'quiet-notices.mjs'),
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    '--test-timeout=120000',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
