import { useEffect, useState } from 'react';
import type { FileInfo } from '../../common/api/types.ts';
import { api, ApiError, errorMessage } from '../../common/api/client.ts';
import { CopyableId, CopyIconButton } from '../../common/components/CopyableId.tsx';
import { Empty, ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatBytes } from '../../common/utils/format.ts';
import { artifactUrl, joinPath, listArtifacts } from '../api/runs-api.ts';
import { parseCsv, parseMlmodel, prettyJson, previewKind, type MlmodelInfo } from '../utils/artifact-preview.ts';

export interface ArtifactRoot {
  label: string;
  /** Path of the root in the artifact proxy, e.g. `1/<run id>/artifacts`. */
  path: string;
}

/**
 * A tree of artifacts under one or more roots, with download links and a preview pane. The
 * selected file is the page's (`selected`, a proxy path kept in the URL so it can be linked);
 * the tree opens the folders down to it.
 */
export function ArtifactBrowser({ roots, selected, onSelect }: { roots: ArtifactRoot[]; selected: string | undefined; onSelect: (path: string) => void }) {
  if (roots.length === 0) return <Empty>Artifacts of this run are not stored behind this server's artifact proxy.</Empty>;
  const root = selected ? roots.find((r) => selected.startsWith(`${r.path}/`)) : undefined;
  return (
    <div className="artifacts">
      <div className="artifact-tree" role="tree" aria-label="Artifacts">
        {roots.map((r) => (
          <div key={r.path} className="artifact-root">
            <div className="artifact-root-label">{r.label}</div>
            <Directory path={r.path} depth={0} selected={selected} onSelect={onSelect} />
          </div>
        ))}
      </div>
      <div className="artifact-preview" aria-live="polite">
        {selected ? <Preview key={selected} path={selected} root={root} /> : <p className="muted">Select a file to preview it.</p>}
      </div>
    </div>
  );
}

function Directory({ path, depth, selected, onSelect }: { path: string; depth: number; selected: string | undefined; onSelect: (path: string) => void }) {
  const state = useApi((signal) => listArtifacts(path, signal), [path]);
  if (state.error !== undefined) return <ErrorBox error={state.error} onRetry={state.reload} />;
  if (!state.data) return <div className="muted small" style={{ paddingLeft: depth * 16 + 8 }}>Loading…</div>;
  if (state.data.length === 0 && depth === 0) return <p className="muted small">No artifacts.</p>;
  return (
    <ul role="group" className="artifact-list">
      {state.data.map((file) => (
        <Entry key={file.path} dir={path} file={file} depth={depth} selected={selected} onSelect={onSelect} />
      ))}
    </ul>
  );
}

function Entry({ dir, file, depth, selected, onSelect }: { dir: string; file: FileInfo; depth: number; selected: string | undefined; onSelect: (path: string) => void }) {
  const name = file.path.split('/').pop() ?? file.path;
  const full = joinPath(dir, name);
  const [open, setOpen] = useState(() => selected?.startsWith(`${full}/`) ?? false);
  if (file.is_dir) {
    return (
      <li role="treeitem" aria-expanded={open}>
        <button type="button" className="artifact-entry" style={{ paddingLeft: depth * 16 + 8 }} onClick={() => setOpen(!open)}>
          <span aria-hidden="true">{open ? '▾' : '▸'}</span> {name}/
        </button>
        {open && <Directory path={full} depth={depth + 1} selected={selected} onSelect={onSelect} />}
      </li>
    );
  }
  return (
    <li role="treeitem" aria-selected={selected === full}>
      <button type="button" className={selected === full ? 'artifact-entry active' : 'artifact-entry'} style={{ paddingLeft: depth * 16 + 22 }} onClick={() => onSelect(full)}>
        {name} <span className="muted small">{formatBytes(file.file_size)}</span>
      </button>
    </li>
  );
}

/**
 * The selected file: looked up in its folder first (its size decides the preview, and a link to a
 * file that is not there says so instead of showing a broken preview).
 */
function Preview({ path, root }: { path: string; root: ArtifactRoot | undefined }) {
  const name = path.split('/').pop() ?? path;
  const dir = path.split('/').slice(0, -1).join('/');
  const listing = useApi((signal) => (root ? listArtifacts(dir, signal) : Promise.resolve([])), [dir, root?.path]);
  const relative = root ? path.slice(root.path.length + 1) : path;
  if (listing.error !== undefined && !(listing.error instanceof ApiError && listing.error.status === 404)) return <ErrorBox error={listing.error} onRetry={listing.reload} />;
  if (!listing.data && listing.error === undefined) return <Loading />;
  const entry = (listing.data ?? []).find((f) => !f.is_dir && f.path.split('/').pop() === name);
  if (!entry) {
    return (
      <div className="preview" data-preview-kind="missing">
        <div className="state state-empty" role="status">
          <strong>Artifact not found.</strong> There is no file <code>{relative}</code> in these artifacts{root ? '' : ' (the link points outside them)'}.
        </div>
      </div>
    );
  }
  const size = entry.file_size;
  const kind = previewKind(name, size);
  const url = artifactUrl(path);
  return (
    <div className="preview" data-preview-kind={kind}>
      <div className="preview-head">
        <CopyableId value={relative} label="artifact path" /> <span className="muted small">{formatBytes(size)}</span>
        <CopyIconButton text={`mlflow-artifacts:/${path}`} label="Copy artifact URI" />
        <a className="btn btn-small" href={url} download={name}>
          Download
        </a>
      </div>
      {kind === 'image' ? (
        <img src={url} alt={name} className="preview-image" />
      ) : kind === 'none' ? (
        <p className="muted">No preview for this file type{size !== undefined && size > 5 * 1024 * 1024 ? ' or size' : ''}. Use Download.</p>
      ) : (
        <TextPreview url={url} kind={kind} dir={path.split('/').slice(0, -1).join('/')} />
      )}
    </div>
  );
}

function TextPreview({ url, kind, dir }: { url: string; kind: 'json' | 'yaml' | 'csv' | 'text' | 'mlmodel'; dir: string }) {
  const state = useApi((signal) => api.text(url, signal), [url]);
  if (state.error !== undefined) return <ErrorBox error={state.error} />;
  if (state.data === undefined) return <Loading />;
  const text = state.data;
  if (kind === 'json') return <pre className="code-block">{prettyJson(text)}</pre>;
  if (kind === 'csv') return <CsvTable text={text} />;
  if (kind === 'mlmodel') return <MlmodelView text={text} dir={dir} />;
  return <pre className="code-block">{text}</pre>;
}

function CsvTable({ text }: { text: string }) {
  const { header, rows, truncated } = parseCsv(text, 500);
  return (
    <div className="csv-preview">
      <table className="data-table compact">
        <thead>
          <tr>
            {header.map((h, i) => (
              <th key={i} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {row.map((cell, j) => (
                <td key={j}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {truncated && <p className="muted small">Showing the first 500 rows.</p>}
    </div>
  );
}

export function SignatureTable({ title, columns }: { title: string; columns: MlmodelInfo['inputs'] }) {
  if (columns.length === 0) return null;
  return (
    <>
      <h4>{title}</h4>
      <table className="data-table compact">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Required</th>
          </tr>
        </thead>
        <tbody>
          {columns.map((c) => (
            <tr key={c.name}>
              <td className="mono">{c.name}</td>
              <td className="mono">
                {c.type}
                {c.shape ? ` ${c.shape}` : ''}
              </td>
              <td>{c.required ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function MlmodelView({ text, dir }: { text: string; dir: string }) {
  let info: MlmodelInfo | undefined;
  let problem: string | undefined;
  try {
    info = parseMlmodel(text);
  } catch (error) {
    problem = errorMessage(error);
  }
  const [example, setExample] = useState<string | undefined>(undefined);
  const examplePath = info?.inputExamplePath;
  useEffect(() => {
    if (!examplePath) return;
    const controller = new AbortController();
    api
      .text(artifactUrl(joinPath(dir, examplePath)), controller.signal)
      .then((t) => setExample(prettyJson(t)))
      .catch(() => setExample(undefined));
    return () => controller.abort();
  }, [dir, examplePath]);
  if (!info) {
    return (
      <>
        <p className="error-text">Could not read this MLmodel file: {problem}</p>
        <pre className="code-block">{text}</pre>
      </>
    );
  }
  return (
    <div className="mlmodel" data-testid="mlmodel">
      <h4>Flavors</h4>
      <ul>
        {info.flavors.map((f) => (
          <li key={f.name}>
            <strong>{f.name}</strong> <span className="muted small">{f.details}</span>
          </li>
        ))}
      </ul>
      {(info.inputs.length > 0 || info.outputs.length > 0) ? (
        <div className="signature">
          <SignatureTable title="Signature: inputs" columns={info.inputs} />
          <SignatureTable title="Signature: outputs" columns={info.outputs} />
          <SignatureTable title="Signature: params" columns={info.params} />
        </div>
      ) : (
        <p className="muted">No signature.</p>
      )}
      {examplePath && (
        <>
          <h4>Input example</h4>
          {example ? <pre className="code-block">{example}</pre> : <p className="muted small">Loading {examplePath}…</p>}
        </>
      )}
      <details>
        <summary>Raw MLmodel</summary>
        <pre className="code-block">{text}</pre>
      </details>
    </div>
  );
}
