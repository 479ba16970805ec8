import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { MetricRecord } from '../../store/tracking-store.ts';
import type {
  ArtifactOwner,
  MigrationSource,
  OpenedArtifact,
  SourceArtifact,
  SourceExperiment,
  SourceLoggedModel,
  SourceModelVersion,
  SourceRegisteredModel,
  SourceRun,
  SourceTrace,
  SourceTracePage,
} from '../../domain/import/source.ts';
import { EXPORT_FORMAT, EXPORT_VERSION } from '../export/export-dir.ts';
import {
  experimentFromWire,
  loggedModelFromWire,
  metricFromWire,
  modelVersionFromWire,
  registeredModelFromWire,
  runFromWire,
  traceFromWireText,
  type WireExperiment,
  type WireLoggedModel,
  type WireMetric,
  type WireModelVersion,
  type WireRegisteredModel,
  type WireRun,
} from './mlflow-wire.ts';

/** Where one trace's line is in traces.jsonl. */
interface TraceLine {
  traceId: string;
  offset: number;
  length: number;
}

const TRACE_PAGE = 100;

interface FileLine {
  owner: 'run' | 'logged-model';
  id: string;
  path: string;
  size: number;
  sha256: string;
}

async function* jsonLines<T>(file: string): AsyncIterable<T> {
  if (!fs.existsSync(file)) return;
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== '') yield JSON.parse(line) as T;
}

/**
 * A folder written by `trove export --to-dir` (see export-dir.ts for the layout). Every file is
 * checked against the SHA-256 recorded at export time as it is imported.
 */
export class ExportDirSource implements MigrationSource {
  readonly description: string;
  readonly key: string;
  readonly warnings: string[] = [];
  private readonly root: string;
  private files: Map<string, FileLine[]> | undefined;
  private traceIndex: Promise<{ byExperiment: Map<string, TraceLine[]>; byId: Map<string, TraceLine> }> | undefined;

  constructor(dir: string) {
    this.root = path.resolve(dir);
    const manifestPath = path.join(this.root, 'manifest.json');
    if (!fs.existsSync(manifestPath)) throw new Error(`${this.root} is not a trove export folder (no manifest.json).`);
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { format?: string; version?: number; source?: string };
    if (manifest.format !== EXPORT_FORMAT || manifest.version !== EXPORT_VERSION) {
      throw new Error(`${this.root}: unsupported export format ${manifest.format} version ${manifest.version}.`);
    }
    this.description = `export folder ${this.root}${manifest.source ? ` (exported from ${manifest.source})` : ''}`;
    this.key = `dir:${this.root}`;
  }

  async *experiments(): AsyncIterable<SourceExperiment> {
    for await (const e of jsonLines<WireExperiment>(path.join(this.root, 'experiments.jsonl'))) yield experimentFromWire(e);
  }

  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    for await (const r of jsonLines<WireRun>(path.join(this.root, 'runs.jsonl'))) if (String(r.info.experiment_id) === experimentId) yield runFromWire(r);
  }

  async metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    const points: MetricRecord[] = [];
    for await (const m of jsonLines<WireMetric>(path.join(this.root, 'metrics', `${path.basename(runId)}.jsonl`))) if (m.key === key) points.push(metricFromWire(m));
    return points;
  }

  async *loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    for await (const m of jsonLines<WireLoggedModel>(path.join(this.root, 'logged-models.jsonl'))) if (experimentIds.includes(String(m.info.experiment_id))) yield loggedModelFromWire(m);
  }

  async *registeredModels(): AsyncIterable<SourceRegisteredModel> {
    for await (const m of jsonLines<WireRegisteredModel>(path.join(this.root, 'registered-models.jsonl'))) yield registeredModelFromWire(m);
  }

  async modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    const out: SourceModelVersion[] = [];
    for await (const v of jsonLines<WireModelVersion>(path.join(this.root, 'model-versions.jsonl'))) if (v.name === modelName) out.push(modelVersionFromWire(v, null));
    return out;
  }

  async *listArtifacts(_root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    if (owner.kind === 'location') return;
    for (const f of (await this.fileIndex()).get(`${owner.kind}:${owner.id}`) ?? []) yield { path: f.path, size: f.size, sha256: f.sha256 };
  }

  async openArtifact(_root: string, owner: ArtifactOwner, relative: string): Promise<OpenedArtifact> {
    if (owner.kind === 'location') throw new Error('export folders hold only run and logged model files');
    const folder = path.join(this.root, 'files', owner.kind === 'run' ? 'runs' : 'models', path.basename(owner.id));
    const file = path.resolve(folder, ...relative.split('/'));
    if (!file.startsWith(`${folder}${path.sep}`)) throw new Error(`artifact path '${relative}' leaves the export folder`);
    return { stream: fs.createReadStream(file), size: (await fs.promises.stat(file)).size };
  }

  async traceIds(experimentId: string, pageToken: string | undefined): Promise<SourceTracePage> {
    const lines = (await this.traces()).byExperiment.get(experimentId) ?? [];
    const start = pageToken === undefined ? 0 : Number(pageToken);
    if (!Number.isSafeInteger(start) || start < 0) throw new Error(`bad trace page token '${pageToken}'`);
    const end = start + TRACE_PAGE;
    return { traceIds: lines.slice(start, end).map((l) => l.traceId), ...(end < lines.length ? { nextPageToken: String(end) } : {}) };
  }

  async trace(traceId: string): Promise<SourceTrace> {
    const line = (await this.traces()).byId.get(traceId);
    if (!line) throw new Error(`trace ${traceId} is not in ${path.join(this.root, 'traces.jsonl')}`);
    const handle = await fs.promises.open(path.join(this.root, 'traces.jsonl'), 'r');
    try {
      const bytes = Buffer.alloc(line.length);
      const { bytesRead } = await handle.read(bytes, 0, line.length, line.offset);
      if (bytesRead !== line.length) throw new Error('traces.jsonl changed while it was being read');
      return traceFromWireText(bytes.toString('utf8'));
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {}

  /**
   * Indexes traces.jsonl once (trace id, experiment, and where its line is), so a page of ids and
   * one trace are read without holding the file in memory.
   */
  private traces(): Promise<{ byExperiment: Map<string, TraceLine[]>; byId: Map<string, TraceLine> }> {
    this.traceIndex ??= (async () => {
      const byExperiment = new Map<string, TraceLine[]>();
      const byId = new Map<string, TraceLine>();
      const file = path.join(this.root, 'traces.jsonl');
      if (!fs.existsSync(file)) return { byExperiment, byId };
      let offset = 0;
      let pending: Buffer[] = [];
      let pendingStart = 0;
      const take = (line: Buffer, at: number) => {
        const text = line.toString('utf8').trim();
        if (text === '') return;
        const parsed = JSON.parse(text) as { trace_info?: { trace_id?: unknown; trace_location?: { mlflow_experiment?: { experiment_id?: unknown } } } };
        const traceId = parsed.trace_info?.trace_id;
        const experimentId = parsed.trace_info?.trace_location?.mlflow_experiment?.experiment_id;
        if (typeof traceId !== 'string' || experimentId === undefined) throw new Error(`${file}: a line at byte ${at} is not a trace with an id and an experiment`);
        const entry = { traceId, offset: at, length: line.length };
        byId.set(traceId, entry);
        const list = byExperiment.get(String(experimentId)) ?? [];
        list.push(entry);
        byExperiment.set(String(experimentId), list);
      };
      for await (const chunk of fs.createReadStream(file)) {
        const bytes = chunk as Buffer;
        let from = 0;
        for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) {
          pending.push(bytes.subarray(from, i));
          take(Buffer.concat(pending), pendingStart);
          pending = [];
          from = i + 1;
          pendingStart = offset + from;
        }
        if (from < bytes.length) pending.push(bytes.subarray(from));
        offset += bytes.length;
      }
      if (pending.length > 0) take(Buffer.concat(pending), pendingStart);
      return { byExperiment, byId };
    })();
    return this.traceIndex;
  }

  private async fileIndex(): Promise<Map<string, FileLine[]>> {
    if (!this.files) {
      const index = new Map<string, FileLine[]>();
      for await (const f of jsonLines<FileLine>(path.join(this.root, 'files.jsonl'))) {
        const key = `${f.owner}:${f.id}`;
        const list = index.get(key) ?? [];
        list.push(f);
        index.set(key, list);
      }
      this.files = index;
    }
    return this.files;
  }
}
