import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStore } from '../../store/artifacts/artifact-store.ts';
import { ChecksumStream } from '../../domain/import/artifact-copy.ts';
import type { ExportReader } from '../../domain/import/export-reader.ts';
import type { ImportProgress } from '../../domain/import/import-service.ts';
import { presentExperiment, presentLoggedModel, presentMetric, presentRun } from '../../http/presenters.ts';
import { presentModelVersion, presentRegisteredModel } from '../../http/registry-presenters.ts';
import { presentTraceV3 } from '../../http/trace-presenters.ts';

/**
 * The portable export folder (`trove export --to-dir`, read back by `trove import dir`):
 *
 *   manifest.json              format, version, when, from where
 *   experiments.jsonl          one experiment per line (MLflow REST shape)
 *   runs.jsonl                 one run per line, with its latest metrics, params, tags, inputs
 *   metrics/<run id>.jsonl     every point of every metric of the run
 *   logged-models.jsonl        MLflow 3 logged models with params, tags and metrics
 *   registered-models.jsonl    registered models with tags and aliases
 *   model-versions.jsonl       their versions with tags
 *   traces.jsonl               MLflow 3 traces, one per line as `GET /api/3.0/mlflow/traces/get`
 *                              answers (`{trace_info, spans}`): info, tags, request metadata,
 *                              assessments, every span in OTLP JSON
 *   files.jsonl                one line per artifact file: owner, path, size, sha256
 *   files/runs/<run id>/...    the run's files
 *   files/models/<model id>/...  the logged model's files
 *
 * Records are written in MLflow's wire shapes, so the folder is readable without Trove.
 */
export const EXPORT_FORMAT = 'trove-export';
export const EXPORT_VERSION = 1;

export interface ExportTotals {
  experiments: number;
  runs: number;
  metricPoints: number;
  loggedModels: number;
  registeredModels: number;
  modelVersions: number;
  traces: number;
  files: number;
  bytes: number;
}

class JsonLines {
  private readonly stream: fs.WriteStream;
  constructor(file: string) {
    this.stream = fs.createWriteStream(file, { encoding: 'utf8' });
  }
  async write(value: unknown): Promise<void> {
    if (!this.stream.write(`${JSON.stringify(value)}\n`)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

export async function exportToDir(
  reader: ExportReader,
  artifacts: ArtifactStore,
  dir: string,
  options: { source: string; skipArtifacts: boolean; progress: ImportProgress },
): Promise<ExportTotals> {
  const root = path.resolve(dir);
  if (fs.existsSync(root) && fs.readdirSync(root).length > 0) throw new Error(`${root} is not empty; export into a new folder.`);
  fs.mkdirSync(path.join(root, 'metrics'), { recursive: true });
  const totals: ExportTotals = { experiments: 0, runs: 0, metricPoints: 0, loggedModels: 0, registeredModels: 0, modelVersions: 0, traces: 0, files: 0, bytes: 0 };
  const experiments = new JsonLines(path.join(root, 'experiments.jsonl'));
  const runs = new JsonLines(path.join(root, 'runs.jsonl'));
  const files = new JsonLines(path.join(root, 'files.jsonl'));
  const { progress } = options;

  const copyFiles = async (artifactUri: string, owner: 'run' | 'logged-model', id: string) => {
    if (options.skipArtifacts) return;
    const folder = path.join(root, 'files', owner === 'run' ? 'runs' : 'models', id);
    for await (const file of reader.files(artifactUri)) {
      const opened = await artifacts.get(file.storePath);
      if (!opened) continue;
      const target = path.join(folder, ...file.path.split('/'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const hash = new ChecksumStream((n) => progress.bytes(n));
      await pipeline(opened.stream, hash, fs.createWriteStream(target));
      await files.write({ owner, id, path: file.path, size: hash.bytes, sha256: hash.digest() });
      totals.files++;
      totals.bytes += hash.bytes;
    }
  };

  const experimentIds: string[] = [];
  const list = [];
  for await (const e of reader.experiments()) list.push(e);
  progress.phase('experiments and runs', { items: list.length });
  for (const experiment of list) {
    await experiments.write(presentExperiment(experiment));
    experimentIds.push(experiment.experimentId);
    totals.experiments++;
    for await (const run of reader.runs(experiment.experimentId)) {
      await runs.write(presentRun(run));
      const history = new JsonLines(path.join(root, 'metrics', `${run.info.runId}.jsonl`));
      for (const latest of run.metrics) {
        let n = 0;
        for await (const point of reader.metricHistory(run, latest.key)) {
          await history.write(presentMetric(point));
          n++;
        }
        totals.metricPoints += n;
        progress.points(n);
      }
      await history.close();
      await copyFiles(run.info.artifactUri, 'run', run.info.runId);
      totals.runs++;
    }
    progress.item();
  }
  progress.endPhase();
  await experiments.close();
  await runs.close();

  const loggedModels = new JsonLines(path.join(root, 'logged-models.jsonl'));
  for await (const model of reader.loggedModels(experimentIds)) {
    await loggedModels.write(presentLoggedModel(model));
    await copyFiles(model.artifactUri, 'logged-model', model.modelId);
    totals.loggedModels++;
  }
  await loggedModels.close();
  await files.close();

  const traces = new JsonLines(path.join(root, 'traces.jsonl'));
  progress.phase('traces (experiments)', { items: experimentIds.length });
  for (const experimentId of experimentIds) {
    for await (const trace of reader.traces(experimentId)) {
      await traces.write(presentTraceV3(trace));
      totals.traces++;
    }
    progress.item();
  }
  progress.endPhase();
  await traces.close();

  const registered = new JsonLines(path.join(root, 'registered-models.jsonl'));
  const versions = new JsonLines(path.join(root, 'model-versions.jsonl'));
  for await (const model of reader.registeredModels()) {
    await registered.write(presentRegisteredModel(model));
    totals.registeredModels++;
    for (const version of await reader.modelVersions(model.name)) {
      await versions.write(presentModelVersion(version));
      totals.modelVersions++;
    }
  }
  await registered.close();
  await versions.close();
  fs.writeFileSync(
    path.join(root, 'manifest.json'),
    `${JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: Date.now(), source: options.source, totals }, null, 2)}\n`,
  );
  return totals;
}
