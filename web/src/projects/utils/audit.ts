import { toQueryString } from '../../common/api/client.ts';
import { apiUrlFor } from '../../common/api/project-paths.ts';

/**
 * The audit log page's filters (GET .../trove/project/audit and its NDJSON export). `since` and
 * `until` take what the server's parseTimeBound takes: ms since the epoch, an ISO date or an age
 * such as `7d`. Pure functions.
 */

export const AUDIT_FILTER_KEYS = ['actor', 'action', 'entity_type', 'entity_id', 'since', 'until'] as const;
export type AuditFilterKey = (typeof AUDIT_FILTER_KEYS)[number];
export type AuditFilters = Partial<Record<AuditFilterKey, string>>;

export interface AuditEntry {
  id: number;
  time: number;
  project_id: number | null;
  project: string | null;
  actor: string;
  actor_user_id: number | null;
  actor_kind: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  request_id: string | null;
  source_address: string | null;
  details: unknown;
}

/** The filters present in a URL query (the page keeps them there so a filtered view can be linked). */
export function filtersFromParams(params: URLSearchParams): AuditFilters {
  const filters: AuditFilters = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) filters[key] = value;
  }
  return filters;
}

/** The query the API takes: empty filters left out. */
export function auditQuery(filters: AuditFilters): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const value = filters[key]?.trim();
    if (value) query[key] = value;
  }
  return query;
}

/** The NDJSON export of the same filtered log, as a link (the browser sends the session cookie). */
export function auditExportUrl(filters: AuditFilters, project: string | undefined): string {
  return apiUrlFor(`/ajax-api/2.0/trove/project/audit/export${toQueryString(auditQuery(filters))}`, project);
}

/** A one-line summary of an entry's details (`role: developer, previous_role: reporter`). */
export function detailsText(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}
