import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { projectFromPath } from '../../common/api/project-paths.ts';
import { Empty, ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatTimestamp } from '../../common/utils/format.ts';
import { queryAudit, type AuditPage as AuditPageData } from '../api/projects-api.ts';
import { AUDIT_FILTER_KEYS, auditExportUrl, detailsText, filtersFromParams, type AuditFilterKey, type AuditFilters } from '../utils/audit.ts';
import { ProjectFrame } from './ProjectFrame.tsx';

const FILTER_FIELDS: Array<{ key: AuditFilterKey; label: string; placeholder: string }> = [
  { key: 'actor', label: 'Actor', placeholder: 'user name' },
  { key: 'action', label: 'Action', placeholder: 'e.g. member.add' },
  { key: 'entity_type', label: 'Entity type', placeholder: 'e.g. run, model_version' },
  { key: 'entity_id', label: 'Entity id', placeholder: 'id or name' },
  { key: 'since', label: 'Since', placeholder: '7d, 2025-01-31 or ms' },
  { key: 'until', label: 'Until', placeholder: '1d, 2025-02-01 or ms' },
];

/** Every change in the project (who, what, when, from where), newest first; filters live in the URL; NDJSON export. */
export default function AuditPage() {
  const [params, setParams] = useSearchParams();
  const filters = filtersFromParams(params);
  const key = AUDIT_FILTER_KEYS.map((k) => filters[k] ?? '').join('\u0000');
  const [draft, setDraft] = useState<AuditFilters>(filters);

  return (
    <ProjectFrame page="audit" title="Audit log">
      <form
        className="audit-filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          const next = new URLSearchParams();
          for (const k of AUDIT_FILTER_KEYS) {
            const value = draft[k]?.trim();
            if (value) next.set(k, value);
          }
          setParams(next, { replace: true });
        }}
      >
        {FILTER_FIELDS.map((f) => (
          <label key={f.key} className="field">
            {f.label}
            <input placeholder={f.placeholder} value={draft[f.key] ?? ''} onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })} />
          </label>
        ))}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary">
            Apply filters
          </button>
          <button
            type="button"
            className="btn"
            onClick={() => {
              setDraft({});
              setParams(new URLSearchParams(), { replace: true });
            }}
          >
            Clear
          </button>
          <a className="btn" href={auditExportUrl(filters, projectFromPath(window.location.pathname))} download="trove-audit.ndjson">
            Export NDJSON
          </a>
        </div>
      </form>
      <AuditEntries key={key} filters={filters} />
    </ProjectFrame>
  );
}

function AuditEntries({ filters }: { filters: AuditFilters }) {
  const first = useApi((signal) => queryAudit(filters, undefined, signal), []);
  const [more, setMore] = useState<AuditPageData[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  if (first.error !== undefined) return <ErrorBox error={first.error} onRetry={first.reload} />;
  if (!first.data) return <Loading label="Loading the audit log…" />;
  const pages = [first.data, ...more];
  const rows = pages.flatMap((p) => p.entries);
  const nextToken = pages[pages.length - 1]?.next_page_token;
  if (rows.length === 0) return <Empty>No audit entries{Object.keys(filters).length > 0 ? ' match these filters' : ' yet'}.</Empty>;
  return (
    <>
      <table className="data-table compact" aria-label="Audit entries">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Entity</th>
            <th scope="col">Details</th>
            <th scope="col">Source</th>
            <th scope="col">Request</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td className="nowrap">{formatTimestamp(e.time)}</td>
              <td>
                {e.actor}
                {e.actor_kind !== 'user' && <span className="muted small"> ({e.actor_kind})</span>}
              </td>
              <td className="mono small">{e.action}</td>
              <td className="small">
                {e.entity_type}
                {e.entity_id && <span className="mono"> {e.entity_id}</span>}
              </td>
              <td className="small wrap">{detailsText(e.details)}</td>
              <td className="mono small">{e.source_address ?? ''}</td>
              <td className="mono small muted" title={e.request_id ?? undefined}>
                {e.request_id ? e.request_id.slice(0, 8) : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error !== undefined && <ErrorBox error={error} />}
      {nextToken && (
        <button
          type="button"
          className="btn"
          disabled={loadingMore}
          onClick={() => {
            setLoadingMore(true);
            queryAudit(filters, nextToken)
              .then((page) => setMore([...more, page]))
              .catch((err: unknown) => setError(err))
              .finally(() => setLoadingMore(false));
          }}
        >
          {loadingMore ? 'Loading…' : 'Load older entries'}
        </button>
      )}
    </>
  );
}
