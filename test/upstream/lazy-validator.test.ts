import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { LazyJsonSchemaValidator } from '../../server/upstream/lazy-validator.js';

describe('LazyJsonSchemaValidator', () => {
  test('validates like the SDK validator: valid data passes, invalid data gets a message', () => {
    const validator = new LazyJsonSchemaValidator();
    const check = validator.getValidator<{ ok: boolean }>({
      type: 'object',
      properties: { ok: { type: 'boolean' } },
      required: ['ok'],
    });
    assert.deepEqual(check({ ok: true }), { valid: true, data: { ok: true }, errorMessage: undefined });
    const refused = check({ ok: 'yes' });
    assert.equal(refused.valid, false);
    assert.match(refused.errorMessage ?? '', /boolean/);
  });

  test('builds no Ajv until a schema is asked for, then one for every schema', () => {
    let built = 0;
    const validator = new LazyJsonSchemaValidator(() => {
      built++;
      return new AjvJsonSchemaValidator();
    });
    assert.equal(built, 0);
    const text = validator.getValidator({ type: 'string' });
    const number = validator.getValidator({ type: 'number' });
    assert.equal(built, 1);
    assert.equal(text('x').valid, true);
    assert.equal(number('x').valid, false);
  });
});
