import type { Readable } from 'node:stream';
import type { TraceInfoInput } from '../tracing/trace-service.ts';
import type { SpanDict } from '../tracing/spans.ts';
import type { DatasetInputRecord, KeyValue, LifecycleStage, LoggedModelRecord, MetricRecord } from '../../store/tracking-store.ts';

/**
 * What `trove import` reads, in one shape whatever the source is (an MLflow server over REST, an
 * mlruns/ folder, a folder written by `trove export --to-dir`). Records use the domain's field
 * names; sources translate their own formats into these.
 */

export interface SourceExperiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: KeyValue[];
}

export interface SourceRunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: string;
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
}

export interface SourceRun {
  info: SourceRunInfo;
  params: KeyValue[];
  tags: KeyValue[];
  /** The latest point of each metric (what a run listing carries); histories come separately. */
  latestMetrics: MetricRecord[];
  datasetInputs: DatasetInputRecord[];
  modelInputs: string[];
  modelOutputs: Array<{ modelId: string; step: number }>;
}

/** A logged model as a source yields it: the store's record without its surrogate key. */
export type SourceLoggedModel = Omit<LoggedModelRecord, 'pk'>;

export interface SourceRegisteredModel {
  name: string;
  description: string | null;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string | null;
  tags: KeyValue[];
  aliases: Array<{ alias: string; version: number }>;
}

export interface SourceModelVersion {
  name: string;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string | null;
  currentStage: string;
  description: string | null;
  source: string;
  runId: string | null;
  runLink: string | null;
  status: string;
  statusMessage: string | null;
  modelId: string | null;
  tags: KeyValue[];
  /** Where the source serves the version's files from (MLflow's download URI), when known. */
  storageLocation: string | null;
}

/** Whose files an artifact listing is about: sources may need the owner to reach them. */
export type ArtifactOwner = { kind: 'run'; id: string } | { kind: 'logged-model'; id: string } | { kind: 'location' };

export interface SourceArtifact {
  /** `/`-separated path relative to the artifact root. */
  path: string;
  /** Size in bytes, when the source lists it. */
  size: number | null;
  /** SHA-256 (hex) the copy must have, when the source recorded one. */
  sha256?: string;
}

export interface OpenedArtifact {
  stream: Readable;
  /** Length in bytes, when the source announces it. */
  size: number | null;
}

/** A trace (MLflow 3) with its spans; `info.experimentId` is the source's experiment id. */
export interface SourceTrace {
  info: TraceInfoInput;
  spans: SpanDict[];
}

export interface SourceTracePage {
  traceIds: string[];
  /**
   * The current info (tags, assessments, ...) of the page's traces, where the source's listing
   * carries it: a trace Trove already holds is then refreshed without being read again.
   */
  infos?: TraceInfoInput[] | undefined;
  /** Absent on the last page. */
  nextPageToken?: string | undefined;
}

export interface MigrationSource {
  /** A printable description (no credentials). */
  readonly description: string;
  /** A stable identity for the import state (no credentials): the same source always gives the same key. */
  readonly key: string;
  /** What the source could not serve (a route it lacks, a filter it ignores), as sentences. */
  readonly warnings: string[];

  experiments(): AsyncIterable<SourceExperiment>;
  /** Every run of an experiment, active and deleted. */
  runs(experimentId: string): AsyncIterable<SourceRun>;
  /** Every point of one metric of a run, in any order. */
  metricHistory(runId: string, key: string): Promise<MetricRecord[]>;
  /** Logged models (MLflow 3) of the experiments; empty where the source has none. */
  loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel>;
  /**
   * One page of the ids of an experiment's traces, where the source serves traces (absent: it
   * never does); `pageToken` is the previous page's `nextPageToken`. The import fetches only the
   * traces the target does not hold yet, with {@link trace}.
   */
  traceIds?(experimentId: string, pageToken: string | undefined): Promise<SourceTracePage>;
  /** One trace with its spans (present whenever {@link traceIds} is). */
  trace?(traceId: string): Promise<SourceTrace>;
  registeredModels(): AsyncIterable<SourceRegisteredModel>;
  modelVersions(modelName: string): Promise<SourceModelVersion[]>;
  /** Every file below an artifact root, recursively. */
  listArtifacts(root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact>;
  openArtifact(root: string, owner: ArtifactOwner, path: string): Promise<OpenedArtifact>;
  close(): Promise<void>;
}
