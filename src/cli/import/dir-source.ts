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
} from '../../domain/import/source.ts';
import { EXPORT_FORMAT, EXPORT_VERSION } from '../export/export-dir.ts';
import {
  experimentFromWire,
  loggedModelFromWire,
  metricFromWire,
  modelVersionFromWire,
  registeredModelFromWire,
  runFromWire,
  type WireExperiment,
  type WireLoggedModel,
  type WireMetric,
  type WireModelVersion,
  type WireRegisteredModel,
  type WireRun,
} from './mlflow-wire.ts';

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

  async close(): Promise<void> {}

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
