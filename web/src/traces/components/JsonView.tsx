import { memo, useState } from 'react';
import { CopyButton } from '../../common/components/ui.tsx';

/**
 * A value as readable JSON: objects and arrays fold open to `openDepth`, strings keep their line
 * breaks, long lists show their first entries until asked for more. Read-only.
 */
export function JsonView({ value, label, openDepth = 4 }: { value: unknown; label: string; openDepth?: number }) {
  const text = safeStringify(value);
  return (
    <div className="json-view" aria-label={label} role="group">
      <div className="json-actions">
        <CopyButton text={text} label="Copy JSON" />
      </div>
      <JsonNode value={value} depth={0} openDepth={openDepth} />
    </div>
  );
}

export function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

const LIST_LIMIT = 100;

const JsonNode = memo(function JsonNode({ name, value, depth, openDepth }: { name?: string | undefined; value: unknown; depth: number; openDepth: number }) {
  const [showAll, setShowAll] = useState(false);
  const label = name === undefined ? null : <span className={/^\d+$/.test(name) ? 'json-index' : 'json-key'}>{name}: </span>;
  if (value === null || value === undefined || typeof value !== 'object') {
    return (
      <div className="json-line">
        {label}
        <Primitive value={value} root={depth === 0} />
      </div>
    );
  }
  const isArray = Array.isArray(value);
  const entries: Array<[string, unknown]> = isArray ? (value as unknown[]).map((v, i) => [String(i), v]) : Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) {
    return (
      <div className="json-line">
        {label}
        <span className="json-punct">{isArray ? '[]' : '{}'}</span>
      </div>
    );
  }
  const shown = showAll ? entries : entries.slice(0, LIST_LIMIT);
  return (
    <details className="json-fold" open={depth < openDepth}>
      <summary>
        {label}
        <span className="json-punct">{isArray ? `[${entries.length}]` : `{${entries.length}}`}</span>
      </summary>
      <div className="json-entries">
        {shown.map(([key, child]) => (
          <JsonNode key={key} name={key} value={child} depth={depth + 1} openDepth={openDepth} />
        ))}
        {entries.length > shown.length && (
          <button type="button" className="btn btn-small" onClick={() => setShowAll(true)}>
            Show {entries.length - shown.length} more
          </button>
        )}
      </div>
    </details>
  );
});

function Primitive({ value, root }: { value: unknown; root: boolean }) {
  if (value === null || value === undefined) return <span className="json-null">null</span>;
  if (typeof value === 'string') return <span className="json-string">{root || value.includes('\n') ? value : JSON.stringify(value)}</span>;
  if (typeof value === 'number' || typeof value === 'bigint') return <span className="json-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="json-bool">{String(value)}</span>;
  return <span>{String(value)}</span>;
}
