/**
 * The README's first step is `npm install`: it must leave the checkout as it was. npm rewrites
 * package-lock.json whenever its copy of package.json's own fields (dependencies, engines, bin…)
 * has fallen behind, which would show a fresh clone as modified.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

test("package-lock.json's copy of package.json's fields is current", async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, Record<string, unknown>>;
  };
  const root = lock.packages[''] ?? {};
  for (const field of ['name', 'version', 'license', 'dependencies', 'devDependencies', 'engines', 'bin']) {
    assert.deepEqual(root[field], pkg[field], `package-lock.json's ${field} (run npm install)`);
  }
});
