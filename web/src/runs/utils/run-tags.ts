import type { KeyValue } from '../../common/api/types.ts';

/** Tags MLflow itself writes (`mlflow.runName`, `mlflow.user`, `mlflow.source.*`, …): shown read-only. */
export function isSystemTag(key: string): boolean {
  return key.startsWith('mlflow.');
}

/**
 * A run's tags in two groups, each sorted by key: the user's own (editable) and the system ones.
 * `hidden` keys (the description's `mlflow.note.content`) are in neither.
 */
export function splitTags(tags: KeyValue[], hidden: string[] = []): { user: KeyValue[]; system: KeyValue[] } {
  const shown = tags.filter((t) => !hidden.includes(t.key)).sort((a, b) => a.key.localeCompare(b.key));
  return { user: shown.filter((t) => !isSystemTag(t.key)), system: shown.filter((t) => isSystemTag(t.key)) };
}

/** The registered model a run's experiment belongs to: `<name>` for the `[model]<name>` experiment. */
export function modelOfExperiment(experimentName: string | undefined): string | undefined {
  if (!experimentName?.startsWith('[model]')) return undefined;
  const name = experimentName.slice('[model]'.length);
  return name === '' ? undefined : name;
}
