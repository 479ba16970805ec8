import { MlflowError } from '../errors.ts';

/**
 * Parsing and safety checks of model version sources (`model-versions/create` `source`), after
 * MLflow's `_parse_model_uri`, `RunsArtifactRepository.parse_runs_uri` and the server's
 * `_validate_non_local_source_contains_relative_paths`.
 */

/** What a `models:/...` URI names. */
export type ModelsUri =
  | { kind: 'logged-model'; modelId: string }
  | { kind: 'version'; name: string; version: number }
  | { kind: 'latest'; name: string }
  | { kind: 'stage'; name: string; stage: string }
  | { kind: 'alias'; name: string; alias: string };

/** The upstream message for a source whose `model_id` / `run_id` does not hold it. */
export function invalidSource(source: string, idField: 'run_id' | 'model_id'): MlflowError {
  return MlflowError.invalidParameter(
    `Invalid model version source: '${source}'. The ${idField} request parameter must identify the resource that contains the source.`,
  );
}

/** The scheme of a URI in lower case (`models`, `runs`, `mlflow-artifacts`), or '' for a plain path. */
export function uriScheme(uri: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  // A Windows drive letter (C:\x) is a path, not a scheme.
  if (!match || match[1]!.length === 1) return '';
  return match[1]!.toLowerCase();
}

/**
 * Refuses sources that could name something other than what they seem to: `..` segments or NUL,
 * also when percent-encoded (any number of times).
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE with MLflow's message
 */
export function checkSourcePath(source: string): void {
  let decoded = source;
  for (let round = 0; round < 10; round += 1) {
    const next = safeDecode(decoded.replaceAll('+', ' '));
    if (next === decoded) break;
    decoded = next;
  }
  const path = decoded.replace(/[?#].*$/, '');
  if (path.includes('\u0000') || path.split(/[/\\]/).some((segment) => segment === '..')) {
    throw MlflowError.invalidParameter(
      `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
    );
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Parses `models:/<model_id>`, `models:/<name>/<version|stage|latest>` and `models:/<name>@<alias>`.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE for a URI with a host (another registry) or of
 *   another shape
 */
export function parseModelsUri(source: string): ModelsUri {
  const rest = source.slice(source.indexOf(':') + 1);
  if (rest.startsWith('//')) {
    throw MlflowError.invalidParameter(
      `Invalid model version source: '${source}'. Registered model sources must use the active model registry.`,
    );
  }
  const path = rest.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') throw invalidSource(source, 'model_id');
  const at = path.indexOf('@');
  if (at !== -1) {
    const name = path.slice(0, at);
    const alias = path.slice(at + 1);
    if (name === '' || alias === '' || name.includes('/')) throw invalidSource(source, 'model_id');
    return { kind: 'alias', name, alias };
  }
  const parts = path.split('/');
  if (parts.length === 1) return { kind: 'logged-model', modelId: parts[0]! };
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw invalidSource(source, 'model_id');
  const [name, suffix] = parts as [string, string];
  if (/^\d+$/.test(suffix)) return { kind: 'version', name, version: Number(suffix) };
  if (suffix.toLowerCase() === 'latest') return { kind: 'latest', name };
  return { kind: 'stage', name, stage: suffix };
}

/**
 * Parses `runs:/<run_id>/<path>`.
 *
 * @returns the run id and the artifact path inside the run ('' for the run's root)
 * @throws MlflowError INVALID_PARAMETER_VALUE for a URI with a host or without a run id
 */
export function parseRunsUri(source: string): { runId: string; path: string } {
  const rest = source.slice(source.indexOf(':') + 1);
  if (rest.startsWith('//')) throw invalidSource(source, 'run_id');
  const path = rest.replace(/^\/+/, '');
  const slash = path.indexOf('/');
  const runId = slash === -1 ? path : path.slice(0, slash);
  if (runId === '') throw invalidSource(source, 'run_id');
  return { runId, path: slash === -1 ? '' : path.slice(slash + 1).replace(/\/+$/, '') };
}
