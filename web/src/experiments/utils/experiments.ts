/** GitLab-style default experiments of registered models are named `[model]<model name>`. */
export function isModelExperiment(name: string): boolean {
  return name.startsWith('[model]');
}

export function modelExperimentName(modelName: string): string {
  return `[model]${modelName}`;
}

interface Tagged {
  tags?: Array<{ key: string; value: string }> | undefined;
}

/** The experiment's description (mlflow.note.content) as one line of plain text. */
export function experimentDescription(experiment: Tagged): string {
  const note = experiment.tags?.find((t) => t.key === 'mlflow.note.content')?.value ?? '';
  return note
    .replace(/[*_`#>]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Tags set by users (system `mlflow.*` tags left out), sorted by key. */
export function userTags(experiment: Tagged): Array<{ key: string; value: string }> {
  return (experiment.tags ?? []).filter((t) => !t.key.startsWith('mlflow.')).sort((a, b) => a.key.localeCompare(b.key));
}
