/** A popover of checkboxes choosing which keys (params, metrics, axes) are shown. */
export function KeyPicker({ label, keys, chosen, onChange }: { label: string; keys: string[]; chosen: string[]; onChange: (next: string[]) => void }) {
  return (
    <details className="metric-picker">
      <summary className="btn btn-small">
        {label} ({chosen.length}/{keys.length})
      </summary>
      <div className="popover-body" role="group" aria-label={label}>
        <div className="row-actions">
          <button type="button" className="btn btn-small" onClick={() => onChange(keys)}>
            All
          </button>
          <button type="button" className="btn btn-small" onClick={() => onChange([])}>
            None
          </button>
        </div>
        {keys.map((k) => (
          <label key={k} className="check">
            <input type="checkbox" checked={chosen.includes(k)} onChange={(e) => onChange(e.target.checked ? keys.filter((x) => x === k || chosen.includes(x)) : chosen.filter((x) => x !== k))} /> {k}
          </label>
        ))}
      </div>
    </details>
  );
}

/** A select of dimension ids (`params.x`, `metrics.y`). */
export function DimSelect({ label, value, options, onChange }: { label: string; value: string; options: string[]; onChange: (id: string) => void }) {
  return (
    <label>
      {label}{' '}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
