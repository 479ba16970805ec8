import { describe, expect, test } from 'vitest';
import { aliasesByVersion, latestVersion, validateAlias } from './registry-api.ts';

describe('registry helpers', () => {
  test('aliases are grouped by version and sorted', () => {
    const map = aliasesByVersion({ aliases: [{ alias: 'prod', version: '2' }, { alias: 'champion', version: '2' }, { alias: 'dev', version: '3' }] });
    expect(map.get('2')).toEqual(['champion', 'prod']);
    expect(map.get('3')).toEqual(['dev']);
  });

  test('the latest version is the highest number, not the last string', () => {
    expect(latestVersion([{ version: '9' }, { version: '10' }, { version: '2' }])).toBe('10');
    expect(latestVersion([])).toBeUndefined();
  });

  test('alias rules follow MLflow', () => {
    expect(validateAlias('production')).toBeUndefined();
    expect(validateAlias('champ-1_b')).toBeUndefined();
    expect(validateAlias('latest')).toMatch(/reserved/);
    expect(validateAlias('V3')).toMatch(/reserved/);
    expect(validateAlias('has space')).toMatch(/letters/);
    expect(validateAlias('')).toMatch(/Enter/);
  });
});
