import type { ExportReader } from '../../domain/import/export-reader.ts';
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
import type { SortValue } from '../../store/tracking-store.ts';
import { presentTraceInfoV3, traceInfoInputFrom } from '../../http/trace-presenters.ts';
import type { MetricRecord } from '../../store/tracking-store.ts';
import { presentExperiment, presentLoggedModel, presentRun } from '../../http/presenters.ts';
import { presentModelVersion, presentRegisteredModel } from '../../http/registry-presenters.ts';
import {
  experimentFromWire,
  loggedModelFromWire,
  modelVersionFromWire,
  registeredModelFromWire,
  runFromWire,
  type WireExperiment,
  type WireLoggedModel,
  type WireModelVersion,
  type WireRegisteredModel,
  type WireRun,
} from '../import/mlflow-wire.ts';

/**
 * One project of a Trove store read as a migration source, for `trove export --to`: records go
 * through the same MLflow wire shapes the export folder uses, so both exports see the same data.
 */
export class StoreSource implements MigrationSource {
  readonly key: string;
  readonly warnings: string[] = [];

  constructor(
    private readonly reader: ExportReader,
    readonly description: string,
  ) {
    this.key = `trove:${description}`;
  }

  async *experiments(): AsyncIterable<SourceExperiment> {
    for await (const e of this.reader.experiments()) yield experimentFromWire(presentExperiment(e) as WireExperiment);
  }

  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    for await (const r of this.reader.runs(experimentId)) yield runFromWire(presentRun(r) as WireRun);
  }

  metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    return this.reader.historyOf(runId, key);
  }

  async *loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    for await (const m of this.reader.loggedModels(experimentIds)) yield loggedModelFromWire(presentLoggedModel(m) as WireLoggedModel);
  }

  async traceIds(experimentId: string, pageToken: string | undefined): Promise<SourceTracePage> {
    const after = pageToken === undefined ? undefined : (JSON.parse(pageToken) as SortValue[]);
    const page = await this.reader.traceIdPage(experimentId, after);
    // The infos let `export --to` leave out, unread, the traces the target already holds as they are.
    const infos = (await this.reader.traceInfos(page.ids)).map((info) => traceInfoInputFrom({ trace: { trace_info: presentTraceInfoV3(info) } }));
    return { traceIds: page.ids, infos, ...(page.next ? { nextPageToken: JSON.stringify(page.next) } : {}) };
  }

  async trace(traceId: string): Promise<SourceTrace> {
    const [found] = await this.reader.tracesById([traceId]);
    if (!found) throw new Error(`trace ${traceId} is not in this project of Trove's store`);
    return { info: traceInfoInputFrom({ trace: { trace_info: presentTraceInfoV3(found.info) } }), spans: found.spans };
  }

  async *registeredModels(): AsyncIterable<SourceRegisteredModel> {
    for await (const m of this.reader.registeredModels()) yield registeredModelFromWire(presentRegisteredModel(m) as WireRegisteredModel);
  }

  async modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    return (await this.reader.modelVersions(modelName)).map((v) => modelVersionFromWire(presentModelVersion(v) as WireModelVersion, v.storageLocation));
  }

  async *listArtifacts(root: string, _owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    for await (const f of this.reader.files(root)) yield { path: f.path, size: f.size };
  }

  async openArtifact(root: string, _owner: ArtifactOwner, path: string): Promise<OpenedArtifact> {
    const opened = await this.reader.open(root, path);
    if (!opened) throw new Error(`artifact '${path}' below ${root} is missing from Trove's store`);
    return opened;
  }

  async close(): Promise<void> {}
}
