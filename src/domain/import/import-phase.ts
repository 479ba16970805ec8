import type { ArtifactStore } from '../../store/artifacts/artifact-store.ts';
import type { ImportStore } from '../../store/import-store.ts';
import type { RegistryStore } from '../../store/registry-store.ts';
import type { TraceStore } from '../../store/trace-store.ts';
import type { KeyValue, TrackingStore } from '../../store/tracking-store.ts';
import { proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import { copyArtifact } from './artifact-copy.ts';
import type { OnConflict } from './import-plan.ts';
import type { ImportReport } from './report.ts';
import type { ArtifactOwner, MigrationSource } from './source.ts';

/**
 * What every phase of an import shares (options, progress, the stores written to) and the
 * artifact copy that runs and logged models both use. Each phase (experiments, runs, logged
 * models, traces, registry) is its own class in its own file; {@link ImportService} runs them
 * in order.
 */

export interface ImportOptions {
  projectId: number;
  /** Root of new experiments' artifact locations; must be served by the artifact proxy (`mlflow-artifacts:/`). */
  defaultArtifactRoot: string;
  onConflict: OnConflict;
  /** Give colliding run ids new ones instead of refusing (the mapping is in the report). */
  remapIds: boolean;
  /** Runs (and logged models, registered models) imported at the same time. */
  concurrency: number;
  /** Leave the files where they are: imported runs point at the source's artifact locations. */
  skipArtifacts: boolean;
  /** Only these source experiments (ids or names). */
  experiments?: string[];
  /** Leave out the model registry. */
  skipRegistry: boolean;
  /**
   * Objects imported from this source before and gone from it since: delete them in Trove too
   * (runs and experiments are marked deleted, registered models, versions and aliases deleted).
   * Without it they are kept and the report counts them.
   */
  deleteMissing?: boolean;
}

/** What the progress display is told. Phases run one after the other. */
export interface ImportProgress {
  phase(name: string, total: { items: number }): void;
  item(): void;
  points(n: number): void;
  bytes(n: number): void;
  endPhase(): void;
  /** A sentence worth showing now (a warning, a failure). */
  note(message: string): void;
}

export const SILENT_PROGRESS: ImportProgress = { phase() {}, item() {}, points() {}, bytes() {}, endPhase() {}, note() {} };

export interface ImportTargets {
  tracking: TrackingStore;
  registry: RegistryStore;
  imports: ImportStore;
  artifacts: ArtifactStore;
  /** Where traces go. */
  traces: TraceStore;
}

/** Where an imported run or logged model keeps its files, here and at the source. */
export interface ArtifactRootMapping {
  /** The run's or logged model's id at the source. */
  id: string;
  /** For a logged model: its name and the run that logged it (`runs:/<run>/<name>` means it in MLflow 3). */
  loggedModel?: { name: string; sourceRunId: string | null };
  sourceRoot: string;
  targetRoot: string;
}

/** The fingerprint of an object whose import has started but not finished. */
export const PENDING = 'pending';

export abstract class ImportPhase {
  constructor(
    protected readonly targets: ImportTargets,
    protected readonly progress: ImportProgress,
    protected readonly clock: () => number,
  ) {}

  /**
   * Copies every file below a source root that Trove does not already hold with the same size.
   * @returns how many files were copied
   */
  protected async copyTree(source: MigrationSource, sourceRoot: string, owner: ArtifactOwner, targetRoot: string, report: ImportReport, what: string): Promise<number> {
    let copiedFiles = 0;
    const base = proxyPathFromArtifactUri(targetRoot);
    if (base === undefined) throw new Error(`Trove's artifact location ${targetRoot} is not served by its artifact proxy; use --default-artifact-root mlflow-artifacts:/ or --skip-artifacts`);
    for await (const file of source.listArtifacts(sourceRoot, owner)) {
      const target = base === '' ? file.path : `${base}/${file.path}`;
      try {
        const present = await this.targets.artifacts.stat(target);
        if (present && !present.isDir && file.size !== null && present.size === file.size) {
          report.artifactFilesUnchanged++;
          continue;
        }
        const opened = await source.openArtifact(sourceRoot, owner, file.path);
        const copied = await copyArtifact(this.targets.artifacts, opened, target, {
          expectedSize: file.size,
          expectedSha256: file.sha256 ?? null,
          onBytes: (n) => this.progress.bytes(n),
        });
        report.artifactFiles++;
        report.artifactBytes += copied.bytes;
        copiedFiles++;
      } catch (error) {
        // A run is not recorded as done while a file is missing, so the next import tries again.
        throw new Error(`${what}: artifact '${file.path}' could not be copied: ${(error as Error).message}`, { cause: error });
      }
    }
    return copiedFiles;
  }
}

/** Tags that name runs (a nested run's parent) follow remapped ids. */
export function remapTags(tags: KeyValue[], runIdMap: Map<string, string>): KeyValue[] {
  if (runIdMap.size === 0) return tags;
  return tags.map((t) => (t.key === 'mlflow.parentRunId' && runIdMap.has(t.value) ? { key: t.key, value: runIdMap.get(t.value)! } : t));
}
