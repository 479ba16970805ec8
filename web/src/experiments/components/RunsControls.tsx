import { useEffect, useState } from 'react';
import type { Experiment } from '../../common/api/types.ts';
import { useApi } from '../../common/hooks/useApi.ts';
import { useLocalStorage } from '../../common/hooks/useLocalStorage.ts';
import { searchExperiments } from '../api/experiments-api.ts';
import { BASE_COLUMNS, columnLabel, type SortState } from '../utils/columns.ts';
import type { Aggregate } from '../utils/run-groups.ts';
import type { KeySets } from '../utils/run-rows.ts';
import { parseSavedViews, saveView, type SavedView } from '../utils/runs-view.ts';
import { isModelExperiment } from '../utils/experiments.ts';

/** The sort menu: any attribute, metric, param or tag, either direction. */
export function SortMenu({ keys, sort, onSort }: { keys: KeySets; sort: SortState; onSort: (sort: SortState) => void }) {
  const options: Array<[string, string[]]> = [
    ['Attributes', [...BASE_COLUMNS]],
    ['Metrics', keys.metrics.map((k) => `metrics.${k}`)],
    ['Params', keys.params.map((k) => `params.${k}`)],
    ['Tags', keys.tags.map((k) => `tags.${k}`)],
  ];
  return (
    <span className="control-group">
      <label>
        Sort by{' '}
        <select aria-label="Sort by" value={sort.column} onChange={(e) => onSort({ ...sort, column: e.target.value })}>
          {options.map(([label, ids]) =>
            ids.length === 0 ? null : (
              <optgroup key={label} label={label}>
                {ids.map((id) => (
                  <option key={id} value={id}>
                    {id.includes('.') ? id : columnLabel(id)}
                  </option>
                ))}
              </optgroup>
            ),
          )}
        </select>
      </label>
      <select aria-label="Sort direction" value={sort.desc ? 'desc' : 'asc'} onChange={(e) => onSort({ ...sort, desc: e.target.value === 'desc' })}>
        <option value="desc">Descending</option>
        <option value="asc">Ascending</option>
      </select>
    </span>
  );
}

/** Group the runs by a param or tag; aggregate rows show the mean, min or max of each metric. */
export function GroupByPicker({ keys, groupBy, aggregate, onGroupBy, onAggregate }: { keys: KeySets; groupBy: string; aggregate: Aggregate; onGroupBy: (groupBy: string) => void; onAggregate: (a: Aggregate) => void }) {
  return (
    <span className="control-group">
      <label>
        Group by{' '}
        <select aria-label="Group by" value={groupBy} onChange={(e) => onGroupBy(e.target.value)}>
          <option value="">No grouping</option>
          {keys.params.length > 0 && (
            <optgroup label="Params">
              {keys.params.map((k) => (
                <option key={k} value={`params.${k}`}>
                  params.{k}
                </option>
              ))}
            </optgroup>
          )}
          {keys.tags.length > 0 && (
            <optgroup label="Tags">
              {keys.tags.map((k) => (
                <option key={k} value={`tags.${k}`}>
                  tags.{k}
                </option>
              ))}
            </optgroup>
          )}
        </select>
      </label>
      {groupBy && (
        <select aria-label="Aggregate" value={aggregate} onChange={(e) => onAggregate(e.target.value as Aggregate)}>
          <option value="mean">Mean</option>
          <option value="min">Min</option>
          <option value="max">Max</option>
        </select>
      )}
    </span>
  );
}

/** Shows the runs of other experiments in the same table. */
export function ExperimentsPicker({ experimentId, selected, onChange }: { experimentId: string; selected: string[]; onChange: (ids: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState('');
  // The URL holds the choice, and the router commits a URL change asynchronously (a navigation);
  // until it has, the boxes show what was clicked, so a click never looks ignored.
  const [clicked, setClicked] = useState<string[] | undefined>();
  const selectedKey = selected.join(',');
  useEffect(() => setClicked(undefined), [selectedKey]);
  const shown = clicked ?? selected;
  const choose = (ids: string[]): void => {
    setClicked(ids);
    onChange(ids);
  };
  const experiments = useApi((signal) => (open ? searchExperiments({ viewType: 'ACTIVE_ONLY', nameFilter: '', orderBy: 'name ASC' }, signal) : Promise.resolve([] as Experiment[])), [open]);
  const others = (experiments.data ?? []).filter((e) => e.experiment_id !== experimentId && !isModelExperiment(e.name) && e.name.toLowerCase().includes(q.toLowerCase()));
  return (
    <div className="picker-anchor">
      <button type="button" className="btn" aria-expanded={open} onClick={() => setOpen(!open)}>
        Experiments{shown.length > 0 ? ` (+${shown.length})` : ''}
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label="Show runs of other experiments" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          <div className="popover-head">
            <input type="search" placeholder="Filter experiments" aria-label="Filter experiments" value={q} onChange={(e) => setQ(e.target.value)} autoFocus />
            <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>
              Done
            </button>
          </div>
          <div className="popover-body">
            {experiments.loading && <p className="muted small">Loading…</p>}
            {others.map((e) => (
              <label key={e.experiment_id} className="check">
                <input
                  type="checkbox"
                  checked={shown.includes(e.experiment_id)}
                  onChange={(ev) => choose(ev.target.checked ? [...shown, e.experiment_id] : shown.filter((id) => id !== e.experiment_id))}
                />{' '}
                {e.name}
              </label>
            ))}
            {!experiments.loading && others.length === 0 && <p className="muted small">No other experiment.</p>}
          </div>
        </div>
      )}
    </div>
  );
}

/** Saved views of this experiment (columns, filter, sort, grouping, charts), and a link to the current one. */
export function ViewsMenu({ experimentId, shareQuery, onApply }: { experimentId: string; shareQuery: () => string; onApply: (query: string) => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [copied, setCopied] = useState(false);
  const [views, setViews] = useLocalStorage<SavedView[]>(`trove.views.${experimentId}`, [], parseSavedViews);
  const link = () => `${window.location.origin}${window.location.pathname}?${shareQuery()}`;
  return (
    <div className="picker-anchor">
      <button type="button" className="btn" aria-expanded={open} onClick={() => setOpen(!open)}>
        Views{views.length > 0 ? ` (${views.length})` : ''}
      </button>
      {open && (
        <div className="popover views-menu" role="dialog" aria-label="Saved views" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          <form
            className="popover-head"
            onSubmit={(e) => {
              e.preventDefault();
              if (!name.trim()) return;
              setViews(saveView(views, { name: name.trim(), query: shareQuery() }));
              setName('');
            }}
          >
            <input type="text" placeholder="Name of this view" aria-label="View name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
            <button type="submit" className="btn btn-small" disabled={!name.trim()}>
              Save view
            </button>
          </form>
          <div className="popover-body">
            {views.length === 0 && <p className="muted small">No saved views. A view keeps the columns, filter, sort, grouping, colours and charts.</p>}
            <ul className="views-list">
              {views.map((v) => (
                <li key={v.name}>
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      onApply(v.query);
                      setOpen(false);
                    }}
                  >
                    {v.name}
                  </button>
                  <button type="button" className="btn btn-small" aria-label={`Delete view ${v.name}`} onClick={() => setViews(views.filter((x) => x.name !== v.name))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
            <p>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  const url = link();
                  void navigator.clipboard?.writeText(url).then(
                    () => setCopied(true),
                    () => window.prompt('Link to this view', url),
                  );
                }}
              >
                {copied ? 'Link copied' : 'Copy link to this view'}
              </button>
            </p>
            <input className="mono small view-link" readOnly aria-label="Link to this view" value={link()} onFocus={(e) => e.currentTarget.select()} />
          </div>
        </div>
      )}
    </div>
  );
}
