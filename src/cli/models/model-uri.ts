/**
 * `models:/` URIs as the MLflow client parses them (mlflow/store/artifact/utils/models.py
 * `_parse_model_uri`): `models:/<name>/<version>`, `models:/<name>/<stage>`,
 * `models:/<name>/latest` (any case), `models:/<name>@<alias>` and `models:/<model id>`.
 */
export type ModelUri =
  | { kind: 'version'; uri: string; name: string; version: string }
  | { kind: 'latest'; uri: string; name: string }
  | { kind: 'stage'; uri: string; name: string; stage: string }
  | { kind: 'alias'; uri: string; name: string; alias: string }
  | { kind: 'logged-model'; uri: string; modelId: string };

export class ModelUriError extends Error {
  constructor(uri: string) {
    super(
      `Not a proper models:/ URI: ${uri}. Models URIs must be of the form 'models:/name/suffix' or 'models:/name@alias' ` +
        "where suffix is a version, stage, or the string 'latest' and where alias is a registered model alias. " +
        'Only one of suffix or alias can be defined at a time.',
    );
    this.name = 'ModelUriError';
  }
}

export function parseModelUri(uri: string): ModelUri {
  const match = /^models:(.*)$/i.exec(uri);
  if (!match || !uri.toLowerCase().startsWith('models:')) throw new ModelUriError(uri);
  const rest = match[1]!;
  // `models://host/...` would name another registry (a netloc), which the client resolves elsewhere.
  if (!rest.startsWith('/') || rest.startsWith('//') || rest.length <= 1) throw new ModelUriError(uri);
  const parts = rest.replace(/^\/+/, '').split('/');
  if (parts.length > 2 || parts[0]!.trim() === '') throw new ModelUriError(uri);
  if (parts.length === 2) {
    const [name, suffix] = parts as [string, string];
    if (suffix.trim() === '') throw new ModelUriError(uri);
    if (/^\d+$/.test(suffix)) return { kind: 'version', uri, name, version: String(Number(suffix)) };
    if (suffix.toLowerCase() === 'latest') return { kind: 'latest', uri, name };
    return { kind: 'stage', uri, name, stage: suffix };
  }
  const only = parts[0]!;
  if (only.includes('@')) {
    const at = only.lastIndexOf('@');
    const name = only.slice(0, at);
    const alias = only.slice(at + 1);
    if (name === '' || alias.trim() === '') throw new ModelUriError(uri);
    return { kind: 'alias', uri, name, alias };
  }
  return { kind: 'logged-model', uri, modelId: only };
}

/** The registered model a URI follows, undefined for a logged-model id. */
export function modelNameOf(uri: ModelUri): string | undefined {
  return uri.kind === 'logged-model' ? undefined : uri.name;
}
