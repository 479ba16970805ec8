import { useCallback, useMemo, useState } from 'react';
import { useLocation, useNavigate, useParams, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import type { Experiment, ViewType } from '../../common/api/types.ts';
import { ClientSnippet, useCurrentExperiment } from '../../common/components/ClientSnippet.tsx';
import { DescriptionEditor, TagsEditor } from '../../common/components/editors.tsx';
import { runActions } from '../../runs/api/runs-api.ts';
import { Breadcrumbs, ErrorBox, Loading, Empty, PageError, Tabs } from '../../common/components/ui.tsx';
import { TracesList } from '../../traces/components/TracesList.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { useLocalStorage } from '../../common/hooks/useLocalStorage.ts';
import { downloadText, toCsv } from '../../common/utils/csv.ts';
import { formatTimestamp } from '../../common/utils/format.ts';
import { experimentActions, getExperiment } from '../api/experiments-api.ts';
import { useRuns } from '../hooks/useRuns.ts';
import { cellValue, columnLabel, defaultColumnState, nextSort, parseColumnState, rowComparator, toggleColumn, type ColumnState } from '../utils/columns.ts';
import { collectKeys, flattenTree } from '../utils/run-rows.ts';
import { useFilterVocabulary } from '../hooks/useFilterVocabulary.ts';
import { ColumnPicker } from './ColumnPicker.tsx';
import { FilterBox } from './FilterBox.tsx';
import { RunsChart } from './RunsChart.tsx';
import { RunsTable } from './RunsTable.tsx';
import { NameDialog } from './ExperimentsPage.tsx';

const NOTE_TAG = 'mlflow.note.content';
const EXPERIMENT_TABS = [
  { id: 'runs', label: 'Runs' },
  { id: 'traces', label: 'Traces' },
];

/** An experiment: its details and the runs table (or the chart view). */
export default function ExperimentPage() {
  const { experimentId = '' } = useParams();
  // Remount per experiment so per-experiment state (columns, selection) starts fresh.
  return <ExperimentView key={experimentId} experimentId={experimentId} />;
}

function ExperimentView({ experimentId }: { experimentId: string }) {
  const navigate = useNavigate();
  const can = useCan();
  const location = useLocation();
  const tab = location.pathname.endsWith('/traces') ? 'traces' : 'runs';
  const [detailsOpen, setDetailsOpen] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const experiment = useApi((signal) => getExperiment(experimentId, signal), [experimentId]);
  useCurrentExperiment(experiment.data?.name);

  const exp: Experiment | undefined = experiment.data;
  const setExpTag = async (key: string, value: string) => {
    await experimentActions.setTag(experimentId, key, value);
    experiment.reload();
  };

  return (
    <div className="page page-wide">
      <Breadcrumbs items={[{ label: 'Experiments', to: '/experiments' }, { label: exp?.name ?? experimentId }]} />
      {experiment.error !== undefined ? (
        <PageError error={experiment.error} what="Experiment" onRetry={experiment.reload} />
      ) : !exp ? (
        <Loading />
      ) : (
        <>
          <div className="page-head">
            <h1>
              {exp.name} {exp.lifecycle_stage === 'deleted' && <span className="badge badge-muted">deleted</span>}
            </h1>
            <div className="row-actions">
              <button type="button" className="btn btn-small" aria-expanded={detailsOpen} onClick={() => setDetailsOpen(!detailsOpen)}>
                {detailsOpen ? 'Hide details' : 'Details & tags'}
              </button>
              {exp.lifecycle_stage === 'active' ? (
                <>
                  {can('edit_experiment') && (
                    <button type="button" className="btn btn-small" onClick={() => setRenaming(true)}>
                      Rename
                    </button>
                  )}
                  {experimentId !== '0' && can('delete_experiment') && (
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      onClick={() => {
                        if (window.confirm(`Delete experiment “${exp.name}”?`))
                          experimentActions.delete(experimentId).then(() => navigate('/experiments')).catch((err: unknown) => window.alert(errorMessage(err)));
                      }}
                    >
                      Delete
                    </button>
                  )}
                </>
              ) : (
                can('delete_experiment') && (
                  <button type="button" className="btn btn-small" onClick={() => void experimentActions.restore(experimentId).then(() => experiment.reload())}>
                    Restore
                  </button>
                )
              )}
            </div>
          </div>
          <p className="muted small">
            ID {exp.experiment_id} · created {formatTimestamp(exp.creation_time)} · artifacts <span className="mono">{exp.artifact_location}</span>
          </p>
          {detailsOpen && (
            <section className="panel" aria-label="Experiment details">
              <h2>Description</h2>
              <DescriptionEditor value={exp.tags?.find((t) => t.key === NOTE_TAG)?.value ?? ''} save={(text) => setExpTag(NOTE_TAG, text)} readOnly={!can('edit_experiment')} />
              <h2>Tags</h2>
              <TagsEditor
                tags={exp.tags ?? []}
                hideSystem
                readOnly={!can('edit_experiment')}
                setTag={setExpTag}
                deleteTag={async (key) => {
                  await experimentActions.deleteTag(experimentId, key);
                  experiment.reload();
                }}
              />
            </section>
          )}
        </>
      )}

      {experiment.error === undefined && (
        <>
          <Tabs tabs={EXPERIMENT_TABS} active={tab} onChange={(id) => navigate(id === 'traces' ? `/experiments/${experimentId}/traces` : `/experiments/${experimentId}`)} />
          <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
            {tab === 'traces' ? <TracesList experimentId={experimentId} /> : <RunsSection experimentId={experimentId} experimentName={exp?.name} />}
          </div>
        </>
      )}
      {renaming && exp && (
        <NameDialog
          title={`Rename “${exp.name}”`}
          initial={exp.name}
          onClose={() => setRenaming(false)}
          submit={async (name) => {
            await experimentActions.rename(experimentId, name);
            setRenaming(false);
            experiment.reload();
          }}
        />
      )}
    </div>
  );
}

/** The runs of the experiment: filter, columns, table or chart, CSV export, compare. */
function RunsSection({ experimentId, experimentName }: { experimentId: string; experimentName: string | undefined }) {
  const navigate = useNavigate();
  const can = useCan();
  const [params, setParams] = useSearchParams();
  const filter = params.get('filter') ?? '';
  const viewType = (params.get('lifecycle') as ViewType | null) ?? 'ACTIVE_ONLY';
  const view = params.get('view') === 'chart' ? 'chart' : 'table';
  const [draft, setDraft] = useState(filter);
  const [generation, setGeneration] = useState(0);
  const [pickerOpen, setPickerOpen] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [storedColumns, setStoredColumns] = useLocalStorage<ColumnState | null>(`trove.columns.${experimentId}`, null, (raw) => (raw === null ? null : parseColumnState(raw)));

  const runs = useRuns(experimentId, filter, viewType, generation);
  const keys = useMemo(() => collectKeys(runs.rows), [runs.rows]);
  const vocabulary = useFilterVocabulary(runs.rows);
  const [active, setActive] = useState<string | undefined>(undefined);
  const mayRestore = can('delete_run');
  const restore = useCallback((runId: string) => {
    runActions
      .restore(runId)
      .then(() => setGeneration((g) => g + 1))
      .catch((err: unknown) => window.alert(errorMessage(err)));
  }, []);
  const columns = storedColumns ?? defaultColumnState(keys);
  // Durations of running runs are measured against the time the rows arrived.
  const now = useMemo(() => Date.now(), [runs.rows]);
  const tree = useMemo(() => flattenTree(runs.rows, expanded, rowComparator(columns.sort, now)), [runs.rows, expanded, columns.sort, now]);

  const update = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === '') next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  const setColumns = (next: ColumnState) => setStoredColumns(next);

  const exportCsv = () => {
    // Every run matching the filter (collapsed children included), in the shown order and columns.
    const all = flattenTree(runs.rows, new Set(runs.rows.map((r) => r.runId)), rowComparator(columns.sort, now));
    const header = ['run_id', ...columns.visible.map((id) => (id.includes('.') ? id : columnLabel(id)))];
    const lines = all.map(({ row }) =>
      [row.runId, ...columns.visible.map((id) => {
        const value = cellValue(row, id, now);
        return id === 'start' && typeof value === 'number' ? new Date(value).toISOString() : value;
      })],
    );
    downloadText(`${experimentName ?? experimentId}-runs.csv`, toCsv(header, lines));
  };

  const selectedIds = Array.from(selected);

  return (
    <>
      <div className="toolbar runs-toolbar">
        <FilterBox
          experimentId={experimentId}
          value={draft}
          onChange={setDraft}
          vocabulary={vocabulary}
          onSubmit={(text) => {
            setDraft(text);
            update({ filter: text });
            setGeneration((g) => g + 1);
          }}
        />
        <label>
          <select aria-label="Run lifecycle" value={viewType} onChange={(e) => update({ lifecycle: e.target.value === 'ACTIVE_ONLY' ? undefined : e.target.value })}>
            <option value="ACTIVE_ONLY">Active runs</option>
            <option value="DELETED_ONLY">Deleted runs</option>
            <option value="ALL">All runs</option>
          </select>
        </label>
        <div className="segmented" role="group" aria-label="View">
          <button type="button" className={view === 'table' ? 'btn active' : 'btn'} aria-pressed={view === 'table'} onClick={() => update({ view: undefined })}>
            Table
          </button>
          <button type="button" className={view === 'chart' ? 'btn active' : 'btn'} aria-pressed={view === 'chart'} onClick={() => update({ view: 'chart' })}>
            Chart
          </button>
        </div>
        <div className="picker-anchor">
          <button type="button" className="btn" aria-expanded={pickerOpen} onClick={() => setPickerOpen(!pickerOpen)}>
            Columns
          </button>
          {pickerOpen && <ColumnPicker keys={keys} visible={columns.visible} onToggle={(id) => setColumns(toggleColumn(columns, id))} onClose={() => setPickerOpen(false)} />}
        </div>
        <button type="button" className="btn" onClick={exportCsv} disabled={runs.rows.length === 0}>
          Export CSV
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={selectedIds.length < 2 || selectedIds.length > 100}
          title="Select 2 to 100 runs"
          onClick={() => navigate(`/compare?experiments=${experimentId}&runs=${selectedIds.join(',')}`)}
        >
          Compare{selectedIds.length > 0 ? ` (${selectedIds.length})` : ''}
        </button>
        <span className="muted small runs-count" aria-live="polite">
          {runs.rows.length.toLocaleString()} {runs.rows.length === 1 ? 'run' : 'runs'}{runs.loading ? ' (loading…)' : ''}
        </span>
      </div>
      {runs.error !== undefined && (
        <div className="state state-error" role="alert">
          <strong>{filter ? 'The filter was rejected.' : 'Could not load runs.'}</strong> <span className="error-text">{errorMessage(runs.error)}</span>
        </div>
      )}
      {runs.rows.length === 0 && runs.loading ? (
        <Loading label="Loading runs…" />
      ) : runs.rows.length === 0 && runs.error === undefined ? (
        <Empty>
          {filter ? (
            'No run matches this filter.'
          ) : (
            <>
              <p>No runs in this experiment yet. Log one with the MLflow client:</p>
              <ClientSnippet experimentName={experimentName} />
            </>
          )}
        </Empty>
      ) : view === 'chart' ? (
        <RunsChart rows={runs.rows} metricKeys={keys.metrics} />
      ) : runs.rows.length > 0 ? (
        <RunsTable
          rows={tree}
          onRestore={mayRestore ? restore : undefined}
          activeKey={active}
          onActivate={setActive}
          columns={columns.visible}
          sort={columns.sort}
          onSort={(column) => setColumns({ ...columns, sort: nextSort(columns.sort, column) })}
          selected={selected}
          onSelect={(runId, on) => {
            const next = new Set(selected);
            if (on) next.add(runId);
            else next.delete(runId);
            setSelected(next);
          }}
          onSelectAll={(on) => setSelected(on ? new Set(tree.map((t) => t.row.runId)) : new Set())}
          expanded={expanded}
          onToggleExpand={(runId) => {
            const next = new Set(expanded);
            if (next.has(runId)) next.delete(runId);
            else next.add(runId);
            setExpanded(next);
          }}
        />
      ) : null}
    </>
  );
}
