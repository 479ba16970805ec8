/**
 * What an import did, object by object kind: the final report, and the totals the progress
 * display shows while it runs. Nothing is dropped silently: every skip and failure is counted
 * and, for failures, explained.
 */

export type ReportKind = 'experiments' | 'runs' | 'logged models' | 'registered models' | 'model versions' | 'traces';

export interface KindCounts {
  /** New in Trove. */
  created: number;
  /** Already imported before and changed at the source since: brought up to date. */
  updated: number;
  /** Already imported and unchanged: nothing fetched. */
  unchanged: number;
  /** Left out on purpose (--on-conflict skip, a parent that was skipped). */
  skipped: number;
  /** Imported before and gone from the source since (deleted there for good): deleted here with --delete-missing. */
  deleted: number;
  failed: number;
}

export interface ImportFailure {
  kind: ReportKind | 'artifacts';
  id: string;
  message: string;
}

export class ImportReport {
  readonly counts = new Map<ReportKind, KindCounts>();
  readonly failures: ImportFailure[] = [];
  readonly warnings: string[] = [];
  /** Source id → Trove id, for everything that could not keep its id. */
  readonly remapped: Array<{ kind: string; from: string; to: string }> = [];
  /** Experiments renamed or merged because of a name conflict. */
  readonly conflicts: Array<{ name: string; resolution: string }> = [];
  metricPoints = 0;
  artifactFiles = 0;
  artifactBytes = 0;
  /** Files already present with the same size, not copied again. */
  artifactFilesUnchanged = 0;

  count(kind: ReportKind, what: keyof KindCounts, n = 1): void {
    let entry = this.counts.get(kind);
    if (!entry) {
      entry = { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, failed: 0 };
      this.counts.set(kind, entry);
    }
    entry[what] += n;
  }

  fail(kind: ImportFailure['kind'], id: string, error: unknown): void {
    if (kind !== 'artifacts') this.count(kind, 'failed');
    this.failures.push({ kind, id, message: error instanceof Error ? error.message : String(error) });
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  get ok(): boolean {
    return this.failures.length === 0;
  }
}

/** The report as plain JSON (for the remote import API). */
export interface ReportJson {
  counts: Array<{ kind: ReportKind } & KindCounts>;
  failures: ImportFailure[];
  warnings: string[];
  remapped: Array<{ kind: string; from: string; to: string }>;
  conflicts: Array<{ name: string; resolution: string }>;
  metricPoints: number;
  artifactFiles: number;
  artifactBytes: number;
  artifactFilesUnchanged: number;
}

export function reportToJson(report: ImportReport): ReportJson {
  return {
    counts: [...report.counts].map(([kind, c]) => ({ kind, ...c })),
    failures: report.failures,
    warnings: report.warnings,
    remapped: report.remapped,
    conflicts: report.conflicts,
    metricPoints: report.metricPoints,
    artifactFiles: report.artifactFiles,
    artifactBytes: report.artifactBytes,
    artifactFilesUnchanged: report.artifactFilesUnchanged,
  };
}

export function reportFromJson(json: ReportJson): ImportReport {
  const report = new ImportReport();
  // A server older than the `deleted` column sends none.
  for (const { kind, ...c } of json.counts) report.counts.set(kind, { ...c, deleted: c.deleted ?? 0 });
  report.failures.push(...json.failures);
  report.warnings.push(...json.warnings);
  report.remapped.push(...json.remapped);
  report.conflicts.push(...json.conflicts);
  report.metricPoints = json.metricPoints;
  report.artifactFiles = json.artifactFiles;
  report.artifactBytes = json.artifactBytes;
  report.artifactFilesUnchanged = json.artifactFilesUnchanged;
  return report;
}
