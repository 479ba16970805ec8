import { useCallback, useMemo, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import type { ViewType } from '../../common/api/types.ts';
import { ClientSnippet } from '../../common/components/ClientSnippet.tsx';
import { Empty, Loading } from '../../common/components/ui.tsx';
import { useLocalStorage } from '../../common/hooks/useLocalStorage.ts';
import { downloadText, toCsv } from '../../common/utils/csv.ts';
import { runActions } from '../../runs/api/runs-api.ts';
import { useFilterVocabulary } from '../hooks/useFilterVocabulary.ts';
import { useRuns } from '../hooks/useRuns.ts';
import { cellValue, columnLabel, defaultColumnState, nextSort, parseColumnState, rowComparator, toggleColumn, type ColumnState } from '../utils/columns.ts';
import { assignColors } from '../utils/run-colors.ts';
import { groupRows, type Aggregate, type TableRow } from '../utils/run-groups.ts';
import { collectKeys, flattenTree } from '../utils/run-rows.ts';
import { effectiveFilter, readView, TIME_RANGES, writeView, type RunsView, type TimeRange } from '../utils/runs-view.ts';
import { ColumnPicker } from './ColumnPicker.tsx';
import { FilterBox } from './FilterBox.tsx';
import { ExperimentsPicker, GroupByPicker, SortMenu, ViewsMenu } from './RunsControls.tsx';
import { ChartsWorkspace } from './ChartsWorkspace.tsx';
import { RunsTable } from './RunsTable.tsx';
import '../experiments.css';

/**
 * The runs of the experiment (and of other experiments shown with it): filter, time range, sort,
 * grouping, columns, run colours and visibility, saved views, the table or the charts, CSV export,
 * compare. Everything but the user's own column choice lives in the URL, so a link shows the same.
 */
export function RunsSection({ experimentId, experimentName }: { experimentId: string; experimentName: string | undefined }) {
  const navigate = useNavigate();
  const can = useCan();
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => readView(params), [params]);
  const display = params.get('view') === 'chart' ? 'chart' : 'table';
  const aggregateBy: Aggregate = params.get('agg') === 'min' || params.get('agg') === 'max' ? (params.get('agg') as Aggregate) : 'mean';
  const [draft, setDraft] = useState(view.filter);
  const [generation, setGeneration] = useState(0);
  const [pickerOpen, setPickerOpen] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [active, setActive] = useState<string | undefined>(undefined);
  const [storedColumns, setStoredColumns] = useLocalStorage<ColumnState | null>(`trove.columns.${experimentId}`, null, (raw) => (raw === null ? null : parseColumnState(raw)));

  const setView = useCallback(
    (patch: Partial<RunsView>, extra: Record<string, string | undefined> = {}) => {
      const next = writeView({ ...view, ...patch }, params);
      for (const [k, v] of Object.entries(extra)) {
        if (v === undefined || v === '') next.delete(k);
        else next.set(k, v);
      }
      setParams(next, { replace: true });
    },
    [view, params, setParams],
  );

  const experimentIds = useMemo(() => [experimentId, ...view.experiments.filter((id) => id !== experimentId)], [experimentId, view.experiments]);
  // The time range's start is taken when the range (or a reload) is chosen, not on every render.
  const rangeNow = useMemo(() => Date.now(), [view.since, generation]);
  const serverFilter = effectiveFilter(view.filter, view.since, rangeNow);
  const runs = useRuns(experimentIds, serverFilter, view.lifecycle, generation);
  const keys = useMemo(() => collectKeys(runs.rows), [runs.rows]);
  const vocabulary = useFilterVocabulary(runs.rows);
  const columns = view.columns ?? storedColumns ?? defaultColumnState(keys);
  // Durations of running runs are measured against the time the rows arrived.
  const now = useMemo(() => Date.now(), [runs.rows]);
  const compare = useMemo(() => rowComparator(columns.sort, now), [columns.sort, now]);
  const tableRows: TableRow[] = useMemo(
    () => (view.groupBy ? groupRows(runs.rows, view.groupBy, expanded, compare) : flattenTree(runs.rows, expanded, compare)),
    [runs.rows, view.groupBy, expanded, compare],
  );
  const hidden = useMemo(() => new Set(view.hidden), [view.hidden]);
  // Every run's colour (chosen, else assigned) — the table and the charts use the same.
  const colors = useMemo(() => ({ ...assignColors(runs.rows), ...view.colors }), [runs.rows, view.colors]);
  // The charts draw the runs in the table's order.
  const ordered = useMemo(() => (display === 'chart' ? runs.rows.slice().sort(compare) : runs.rows), [display, runs.rows, compare]);

  // A shared link's columns stay in the URL; otherwise they are the user's own for this experiment.
  const setColumns = (next: ColumnState) => (view.columns ? setView({ columns: next }) : setStoredColumns(next));

  const mayRestore = can('delete_run');
  const restore = useCallback((runId: string) => {
    runActions
      .restore(runId)
      .then(() => setGeneration((g) => g + 1))
      .catch((err: unknown) => window.alert(errorMessage(err)));
  }, []);

  const toggle = (set: Set<string>, key: string, on?: boolean) => {
    const next = new Set(set);
    if (on ?? !next.has(key)) next.add(key);
    else next.delete(key);
    return next;
  };

  const exportCsv = () => {
    // Every run matching the filter (collapsed children included), in the shown order and columns.
    const all = flattenTree(runs.rows, new Set(runs.rows.map((r) => r.runId)), compare);
    const header = ['run_id', ...columns.visible.map((id) => (id.includes('.') ? id : columnLabel(id)))];
    const lines = all.map(({ row }) => [
      row.runId,
      ...columns.visible.map((id) => {
        const value = cellValue(row, id, now);
        return id === 'start' && typeof value === 'number' ? new Date(value).toISOString() : value;
      }),
    ]);
    downloadText(`${experimentName ?? experimentId}-runs.csv`, toCsv(header, lines));
  };

  const selectedIds = Array.from(selected);
  const filtered = view.filter !== '' || view.since !== '';

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
            setView({ filter: text });
            setGeneration((g) => g + 1);
          }}
        />
        <label>
          <select aria-label="Run lifecycle" value={view.lifecycle} onChange={(e) => setView({ lifecycle: e.target.value as ViewType })}>
            <option value="ACTIVE_ONLY">Active runs</option>
            <option value="DELETED_ONLY">Deleted runs</option>
            <option value="ALL">All runs</option>
          </select>
        </label>
        <label>
          <select aria-label="Started" value={view.since} onChange={(e) => setView({ since: e.target.value as TimeRange })}>
            {TIME_RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.value === '' ? 'Started any time' : `Started in the ${r.label.toLowerCase()}`}
              </option>
            ))}
          </select>
        </label>
        <div className="segmented" role="group" aria-label="View">
          <button type="button" className={display === 'table' ? 'btn active' : 'btn'} aria-pressed={display === 'table'} onClick={() => setView({}, { view: undefined })}>
            Table
          </button>
          <button type="button" className={display === 'chart' ? 'btn active' : 'btn'} aria-pressed={display === 'chart'} onClick={() => setView({}, { view: 'chart' })}>
            Charts
          </button>
        </div>
      </div>
      <div className="toolbar runs-toolbar runs-toolbar-2">
        <SortMenu keys={keys} sort={columns.sort} onSort={(sort) => setColumns({ ...columns, sort })} />
        <GroupByPicker keys={keys} groupBy={view.groupBy} aggregate={aggregateBy} onGroupBy={(groupBy) => setView({ groupBy })} onAggregate={(agg) => setView({}, { agg: agg === 'mean' ? undefined : agg })} />
        <div className="picker-anchor">
          <button type="button" className="btn" aria-expanded={pickerOpen} onClick={() => setPickerOpen(!pickerOpen)}>
            Columns
          </button>
          {pickerOpen && <ColumnPicker keys={keys} visible={columns.visible} onToggle={(id) => setColumns(toggleColumn(columns, id))} onClose={() => setPickerOpen(false)} />}
        </div>
        <ExperimentsPicker experimentId={experimentId} selected={view.experiments} onChange={(experiments) => setView({ experiments })} />
        <ViewsMenu
          experimentId={experimentId}
          shareQuery={() => writeView({ ...view, columns }, params).toString()}
          onApply={(query) => {
            const next = new URLSearchParams(query);
            setDraft(next.get('filter') ?? '');
            setParams(next, { replace: false });
          }}
        />
        <button type="button" className="btn" onClick={exportCsv} disabled={runs.rows.length === 0}>
          Export CSV
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={selectedIds.length < 2 || selectedIds.length > 100}
          title="Select 2 to 100 runs"
          onClick={() => navigate(`/compare?experiments=${experimentIds.join(',')}&runs=${selectedIds.join(',')}`)}
        >
          Compare{selectedIds.length > 0 ? ` (${selectedIds.length})` : ''}
        </button>
        <span className="muted small runs-count" aria-live="polite">
          {runs.rows.length.toLocaleString()} {runs.rows.length === 1 ? 'run' : 'runs'}
          {runs.loading ? ' (loading…)' : ''}
        </span>
      </div>
      {runs.error !== undefined && (
        <div className="state state-error" role="alert">
          <strong>{view.filter ? 'The filter was rejected.' : 'Could not load runs.'}</strong> <span className="error-text">{errorMessage(runs.error)}</span>
        </div>
      )}
      {runs.rows.length === 0 && runs.loading ? (
        <Loading label="Loading runs…" />
      ) : runs.rows.length === 0 && runs.error === undefined ? (
        <Empty>
          {filtered ? (
            'No run matches this filter.'
          ) : (
            <>
              <p>No runs in this experiment yet. Log one with the MLflow client:</p>
              <ClientSnippet experimentName={experimentName} />
            </>
          )}
        </Empty>
      ) : display === 'chart' ? (
        <ChartsWorkspace rows={ordered} metricKeys={keys.metrics} colors={colors} hidden={hidden} layout={view.charts} onLayout={(charts) => setView({ charts })} />
      ) : runs.rows.length > 0 ? (
        <RunsTable
          rows={tableRows}
          columns={columns.visible}
          sort={columns.sort}
          onSort={(column) => setColumns({ ...columns, sort: nextSort(columns.sort, column) })}
          selected={selected}
          onSelect={(runId, on) => setSelected(toggle(selected, runId, on))}
          onSelectRuns={(runIds, on) => {
            const next = new Set(selected);
            for (const id of runIds) {
              if (on) next.add(id);
              else next.delete(id);
            }
            setSelected(next);
          }}
          onSelectAll={(on) => setSelected(on ? new Set(runs.rows.map((r) => r.runId)) : new Set())}
          expanded={expanded}
          onToggleExpand={(key) => setExpanded(toggle(expanded, key))}
          onRestore={mayRestore ? restore : undefined}
          activeKey={active}
          onActivate={setActive}
          colors={colors}
          onColor={(runId, color) => setView({ colors: { ...view.colors, [runId]: color } })}
          hidden={hidden}
          onToggleHidden={(runId) => setView({ hidden: Array.from(toggle(hidden, runId)) })}
          aggregate={aggregateBy}
          showExperiment={experimentIds.length > 1}
        />
      ) : null}
    </>
  );
}
