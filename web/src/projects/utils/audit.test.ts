import { describe, expect, test } from 'vitest';
import { auditExportUrl, auditQuery, detailsText, filtersFromParams } from './audit.ts';

describe('audit log filters', () => {
  test('read from the page URL, empty ones dropped', () => {
    const params = new URLSearchParams('actor=alice&action=&since=7d&page=3');
    expect(filtersFromParams(params)).toEqual({ actor: 'alice', since: '7d' });
    expect(auditQuery({ actor: ' alice ', entity_type: '' })).toEqual({ actor: 'alice' });
  });

  test('the NDJSON export link carries the project prefix and the filters', () => {
    expect(auditExportUrl({ action: 'member.add', since: '2025-01-01' }, 'fraud')).toBe(
      '/projects/fraud/ajax-api/2.0/trove/project/audit/export?action=member.add&since=2025-01-01',
    );
    expect(auditExportUrl({}, undefined)).toBe('/ajax-api/2.0/trove/project/audit/export');
  });

  test('details in one line', () => {
    expect(detailsText({ role: 'developer', previous_role: 'reporter' })).toBe('role: developer, previous_role: reporter');
    expect(detailsText(null)).toBe('');
    expect(detailsText({ tags: { a: 1 } })).toBe('tags: {"a":1}');
  });
});
