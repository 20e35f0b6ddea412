import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposeNames } from '../../server/gateway/naming.js';

test('tools are exposed as <server><sep><name>', () => {
  const { names, clashes } = exposeNames(
    [
      { server: 'alpha', name: 'echo' },
      { server: 'beta', name: 'echo' },
    ],
    '__',
  );
  assert.deepEqual([...names.values()], ['alpha__echo', 'beta__echo']);
  assert.deepEqual(clashes, []);
});

test('a clash keeps the name for the first holder and suffixes the later one, and is reported', () => {
  // "a" + "__" + "b__c" and "a__b" + "__" + "c" both give "a__b__c".
  const { names, clashes } = exposeNames(
    [
      { server: 'a', name: 'b__c' },
      { server: 'a__b', name: 'c' },
    ],
    '__',
  );
  assert.equal(names.get('a\u0000b__c'), 'a__b__c');
  assert.equal(names.get('a__b\u0000c'), 'a__b__c__2');
  assert.equal(clashes.length, 1);
  assert.match(clashes[0]!, /"a__b__c" is a's "b__c"; a__b's "c" is "a__b__c__2"/);
});

test('the separator is configurable', () => {
  const { names } = exposeNames([{ server: 's', name: 't' }], '.');
  assert.equal(names.get('s\u0000t'), 's.t');
});

test('a server listing a name twice keeps the first and reports it', () => {
  const { names, clashes } = exposeNames(
    [
      { server: 's', name: 't' },
      { server: 's', name: 't' },
    ],
    '__',
  );
  assert.equal(names.size, 1);
  assert.match(clashes[0]!, /lists "t" twice/);
});
