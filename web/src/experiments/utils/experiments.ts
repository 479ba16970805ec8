/** GitLab-style default experiments of registered models are named `[model]<model name>`. */
export function isModelExperiment(name: string): boolean {
  return name.startsWith('[model]');
}

export function modelExperimentName(modelName: string): string {
  return `[model]${modelName}`;
}
