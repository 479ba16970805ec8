import { useState } from 'react';
import { BASE_COLUMNS, columnLabel } from '../utils/columns.ts';
import type { KeySets } from '../utils/run-rows.ts';

/** Chooses the table's columns: base attributes, metrics, params and tags, with a search box. */
export function ColumnPicker({ keys, visible, onToggle, onClose }: { keys: KeySets; visible: string[]; onToggle: (id: string) => void; onClose: () => void }) {
  const [q, setQ] = useState('');
  const match = (id: string) => id.toLowerCase().includes(q.toLowerCase());
  const groups: Array<[string, string[]]> = [
    ['Attributes', [...BASE_COLUMNS]],
    ['Metrics', keys.metrics.map((k) => `metrics.${k}`)],
    ['Params', keys.params.map((k) => `params.${k}`)],
    ['Tags', keys.tags.map((k) => `tags.${k}`)],
  ];
  return (
    <div
      className="popover column-picker"
      role="dialog"
      aria-label="Choose columns"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="popover-head">
        <input type="search" placeholder="Filter columns" aria-label="Filter columns" value={q} onChange={(e) => setQ(e.target.value)} autoFocus />
        <button type="button" className="btn btn-small" onClick={onClose}>
          Done
        </button>
      </div>
      <div className="popover-body">
        {groups.map(([label, ids]) => {
          const shown = ids.filter(match);
          if (shown.length === 0) return null;
          return (
            <fieldset key={label}>
              <legend>
                {label} <span className="muted small">({ids.length})</span>
              </legend>
              {shown.map((id) => (
                <label key={id} className="check">
                  <input type="checkbox" checked={visible.includes(id)} disabled={id === 'name'} onChange={() => onToggle(id)} /> {columnLabel(id)}
                </label>
              ))}
            </fieldset>
          );
        })}
      </div>
    </div>
  );
}
