import { useState } from 'react';
import { errorMessage } from '../api/client.ts';
import type { KeyValue } from '../api/types.ts';
import { Markdown } from './Markdown.tsx';

/** A Markdown description with an Edit button (none when `readOnly`); `save` persists it (errors stay in the editor). */
export function DescriptionEditor({
  value,
  save,
  placeholder = 'No description.',
  readOnly = false,
}: {
  value: string;
  save: (text: string) => Promise<void>;
  placeholder?: string;
  readOnly?: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(value);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!editing || readOnly) {
    return (
      <div className="description">
        {value.trim() ? <Markdown source={value} /> : <p className="muted">{placeholder}</p>}
        {!readOnly && (
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setDraft(value);
              setEditing(true);
              setError(undefined);
            }}
          >
            Edit description
          </button>
        )}
      </div>
    );
  }
  return (
    <form
      className="description-editor"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        save(draft)
          .then(() => setEditing(false))
          .catch((err: unknown) => setError(errorMessage(err)))
          .finally(() => setBusy(false));
      }}
    >
      <label className="sr-only" htmlFor="description-text">
        Description (Markdown)
      </label>
      <textarea id="description-text" rows={6} value={draft} onChange={(e) => setDraft(e.target.value)} autoFocus />
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="row-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Save
        </button>
        <button type="button" className="btn" onClick={() => setEditing(false)} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/**
 * A key/value table with add, edit and delete (only shown when not `readOnly`). System tags
 * (`mlflow.*`) are hidden with `hideSystem`.
 */
export function TagsEditor({
  tags,
  setTag,
  deleteTag,
  hideSystem = false,
  label = 'Tags',
  readOnly = false,
}: {
  tags: KeyValue[];
  setTag: (key: string, value: string) => Promise<void>;
  deleteTag: (key: string) => Promise<void>;
  hideSystem?: boolean;
  label?: string;
  readOnly?: boolean;
}) {
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [editValue, setEditValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const shown = tags.filter((t) => !hideSystem || !t.key.startsWith('mlflow.')).sort((a, b) => a.key.localeCompare(b.key));

  const run = (work: Promise<void>, after?: () => void) => {
    setBusy(true);
    setError(undefined);
    work
      .then(() => after?.())
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(false));
  };

  return (
    <div className="tags-editor">
      <table className="kv-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            {!readOnly && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {shown.length === 0 && (
            <tr>
              <td colSpan={readOnly ? 2 : 3} className="muted">
                No tags.
              </td>
            </tr>
          )}
          {shown.map((tag) => (
            <tr key={tag.key}>
              <td className="mono">{tag.key}</td>
              <td>
                {editing === tag.key ? (
                  <input aria-label={`Value of ${tag.key}`} value={editValue} onChange={(e) => setEditValue(e.target.value)} autoFocus />
                ) : (
                  <span className="wrap">{tag.value}</span>
                )}
              </td>
              {!readOnly && (
                <td className="actions">
                  {editing === tag.key ? (
                    <>
                      <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={() => run(setTag(tag.key, editValue), () => setEditing(undefined))}>
                        Save
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setEditing(undefined)}>
                        Cancel
                      </button>
                    </>
                  ) : (
                    <>
                      <button
                        type="button"
                        className="btn btn-small"
                        aria-label={`Edit tag ${tag.key}`}
                        onClick={() => {
                          setEditing(tag.key);
                          setEditValue(tag.value);
                        }}
                      >
                        Edit
                      </button>
                      <button type="button" className="btn btn-small btn-danger" aria-label={`Delete tag ${tag.key}`} disabled={busy} onClick={() => run(deleteTag(tag.key))}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!readOnly && (
        <form
          className="add-tag"
          onSubmit={(event) => {
            event.preventDefault();
            if (!newKey.trim()) return;
            run(setTag(newKey.trim(), newValue), () => {
              setNewKey('');
              setNewValue('');
            });
          }}
        >
          <input aria-label="New tag key" placeholder="key" value={newKey} onChange={(e) => setNewKey(e.target.value)} />
          <input aria-label="New tag value" placeholder="value" value={newValue} onChange={(e) => setNewValue(e.target.value)} />
          <button type="submit" className="btn btn-small" disabled={busy || !newKey.trim()}>
            Add tag
          </button>
        </form>
      )}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
