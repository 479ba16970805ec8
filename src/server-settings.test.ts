import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { preparedStatementsFromEnv } from './server-settings.ts';

describe('TROVE_PG_PREPARED_STATEMENTS', () => {
  test('prepared statements are on when the setting is absent or empty', () => {
    assert.equal(preparedStatementsFromEnv({}), true);
    assert.equal(preparedStatementsFromEnv({ TROVE_PG_PREPARED_STATEMENTS: ' ' }), true);
  });

  test('the usual spellings of true and false are understood', () => {
    for (const value of ['true', 'TRUE', '1', 'on', 'yes']) assert.equal(preparedStatementsFromEnv({ TROVE_PG_PREPARED_STATEMENTS: value }), true, value);
    for (const value of ['false', 'False', '0', 'off', 'no']) assert.equal(preparedStatementsFromEnv({ TROVE_PG_PREPARED_STATEMENTS: value }), false, value);
  });

  test('any other value stops the server with a message naming the setting', () => {
    assert.throws(() => preparedStatementsFromEnv({ TROVE_PG_PREPARED_STATEMENTS: 'sometimes' }), /TROVE_PG_PREPARED_STATEMENTS must be true or false, got 'sometimes'/);
  });
});
