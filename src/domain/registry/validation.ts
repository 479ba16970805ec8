import { MlflowError, missingParameter } from '../errors.ts';
import type { FilterClause } from '../search/types.ts';
import { PROMPT_TAG_KEY } from '../../store/registry-store.ts';
import type { KeyValue } from '../../store/tracking-store.ts';

/**
 * The model registry's input rules, with MLflow's messages (mlflow/utils/validation.py and
 * mlflow/store/model_registry/sqlalchemy_store.py of MLflow 3.18).
 */
export const REGISTRY_LIMITS = {
  tagKey: 250,
  /**
   * MLflow 3.18 allows 100,000 characters (prompt templates live in version tags); MLflow 2.x and
   * the reference notes say 5,000. We follow the 3.x server, which is what the 3.x client expects.
   */
  tagValue: 100_000,
  aliasName: 255,
  /** Upstream's column width; longer names would break the `[model]<name>` experiment too. */
  modelName: 256,
  searchModelsDefault: 100,
  searchModelsMax: 1000,
  searchVersionsDefault: 10_000,
  searchVersionsMax: 200_000,
} as const;

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
/** The stages `archive_existing_versions` may be used with. */
export const ACTIVE_STAGES: readonly Stage[] = ['Staging', 'Production'];

/** The alias that always means "the highest version" and so cannot be set. */
export const LATEST_ALIAS = 'latest';

const NAME_CHARACTERS = /^[/\w.\- :]*$/;
// Python's `\w` on str is Unicode-aware; these are its JavaScript spelling.
const ALIAS_CHARACTERS = /^[\p{L}\p{N}_-]*$/u;
const VERSION_ALIAS = /^[vV]\p{Nd}+$/u;

/** Python's `json.dumps` of a string, as MLflow quotes values in its messages. */
function jsonQuoted(value: string): string {
  return JSON.stringify(value);
}

/** Python's `repr` of a string (single quotes unless the text contains one). */
function pyRepr(value: string): string {
  if (value.includes("'") && !value.includes('"')) return `"${value}"`;
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** posixpath.normpath, enough to tell whether a name would resolve to another one. */
function normPath(path: string): string {
  if (path === '') return '.';
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else if (part !== '..' || !absolute) parts.push(part);
  }
  const joined = parts.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** MLflow's `path_not_unique`: the name would be read as a different path. */
function pathNotUnique(name: string): boolean {
  const norm = normPath(name);
  return norm !== name || norm === '.' || norm.startsWith('..') || norm.startsWith('/');
}

function badPath(field: string, name: string): MlflowError {
  return MlflowError.invalidParameter(
    `Invalid value ${jsonQuoted(name)} for parameter '${field}' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to ${pyRepr(normPath(name))}`,
  );
}

function tooLong(field: string, limit: number): MlflowError {
  return MlflowError.invalidParameter(`'${field}' exceeds the maximum length of ${limit} characters`);
}

/**
 * A registered model name: non-empty, no `/` or `:` (they would clash with `models:/` URIs), not
 * a path that resolves elsewhere (`.`, `..x`).
 *
 * @param field the request field, `name` or `new_name`, used in the messages
 * @returns the name unchanged
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export function validateModelName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.trim() === '') throw missingParameter(field);
  if (name.includes('/') || name.includes(':')) {
    throw MlflowError.invalidParameter(`Invalid model name '${name}'. Names cannot contain '/' or ':'.`);
  }
  if (pathNotUnique(name)) throw badPath(field, name);
  if (name.length > REGISTRY_LIMITS.modelName) throw tooLong(field, REGISTRY_LIMITS.modelName);
  return name;
}

/**
 * A model version as sent on the wire (`"3"`, or a JSON number): a positive integer.
 *
 * @returns the version number
 * @throws MlflowError INVALID_PARAMETER_VALUE "Parameter 'version' must be an integer, got 'x'."
 */
export function parseVersion(version: unknown): number {
  if (version === undefined || version === null || version === '') throw missingParameter('version');
  const text = String(version).trim();
  if (!/^[+-]?\d+$/.test(text)) {
    throw MlflowError.invalidParameter(`Parameter 'version' must be an integer, got '${String(version)}'.`);
  }
  const number = Number(text);
  if (!Number.isSafeInteger(number) || number < 1) {
    throw MlflowError.invalidParameter(`Parameter 'version' must be a positive integer, got '${String(version)}'.`);
  }
  return number;
}

/**
 * An alias name as any alias endpoint accepts it: `^[\w-]*$`, non-empty, at most 255 characters.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export function validateAliasName(alias: unknown): string {
  if (alias === undefined || alias === null || alias === '') {
    throw MlflowError.invalidParameter('Registered model alias name cannot be empty.');
  }
  const text = String(alias);
  if (!ALIAS_CHARACTERS.test(text)) {
    throw MlflowError.invalidParameter(`Invalid alias name: '${text}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`);
  }
  if (text.length > REGISTRY_LIMITS.aliasName) throw tooLong('Registered model alias name', REGISTRY_LIMITS.aliasName);
  return text;
}

/**
 * An alias that may be set: valid, and neither `latest` (any case) nor `v<digits>`, which
 * `models:/name@...` URIs would read as something else.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export function validateNewAliasName(alias: unknown): string {
  const text = validateAliasName(alias);
  if (text.toLowerCase() === LATEST_ALIAS) {
    throw MlflowError.invalidParameter("'latest' alias name (case insensitive) is reserved.");
  }
  if (VERSION_ALIAS.test(text)) throw MlflowError.invalidParameter(`Version alias name '${text}' is reserved.`);
  return text;
}

/**
 * A tag key of a registered model or version: MLflow's name characters, a normalised relative
 * path, at most 250 characters.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export function validateTagKey(key: unknown): string {
  if (key === undefined || key === null || key === '') throw missingParameter('key');
  const text = String(key);
  if (!NAME_CHARACTERS.test(text)) {
    throw MlflowError.invalidParameter(
      `Invalid value ${jsonQuoted(text)} for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
    );
  }
  if (pathNotUnique(text)) throw badPath('key', text);
  if (text.length > REGISTRY_LIMITS.tagKey) throw tooLong('key', REGISTRY_LIMITS.tagKey);
  return text;
}

/** A whole registry tag. @throws MlflowError INVALID_PARAMETER_VALUE */
export function validateTag(tag: KeyValue): KeyValue {
  const key = validateTagKey(tag.key);
  if (tag.value.length > REGISTRY_LIMITS.tagValue) throw tooLong('value', REGISTRY_LIMITS.tagValue);
  return { key, value: tag.value };
}

/**
 * A stage name in any case (`production`, `STAGING`) as MLflow's canonical spelling.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid Model Version stage: x. Value must be one of ..."
 */
export function canonicalStage(stage: string): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (!found) {
    throw MlflowError.invalidParameter(`Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(', ')}.`);
  }
  return found;
}

/**
 * A search's max_results: a positive integer no larger than the endpoint's threshold.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export function validateRegistryMaxResults(maxResults: number, threshold: number): void {
  if (!Number.isSafeInteger(maxResults) || maxResults < 1) {
    throw MlflowError.invalidParameter(`Invalid value for max_results. It must be a positive integer, but got ${maxResults}`);
  }
  if (maxResults > threshold) {
    throw MlflowError.invalidParameter(
      `Invalid value for request parameter max_results. It must be at most ${threshold}, but got value ${maxResults}`,
    );
  }
}

/**
 * Applies MLflow's prompt rule to parsed search clauses. A search asks for prompts when it has
 * ``tag.`mlflow.prompt.is_prompt` = 'true'`` (or `!= 'false'`); then its clauses apply as written.
 * Every other search returns models only: clauses on the prompt tag are dropped (so a model
 * without the tag matches ``!= 'true'`` and `= 'false'`, which the 3.x client appends to every
 * model search) and prompts are excluded instead — upstream's `_update_query_to_exclude_prompts`.
 *
 * @returns the clauses to apply and whether prompts must be left out
 */
export function applyPromptRule(clauses: FilterClause[]): { clauses: FilterClause[]; excludePrompts: boolean } {
  const promptClause = clauses.find((c) => c.entity === 'tag' && c.key === PROMPT_TAG_KEY);
  const value = typeof promptClause?.value === 'string' ? promptClause.value.toLowerCase() : undefined;
  const queryingPrompts =
    promptClause !== undefined && ((promptClause.comparator === '=' && value === 'true') || (promptClause.comparator === '!=' && value === 'false'));
  if (queryingPrompts) return { clauses, excludePrompts: false };
  return { clauses: clauses.filter((c) => !(c.entity === 'tag' && c.key === PROMPT_TAG_KEY)), excludePrompts: true };
}

/** Whether tags mark a registered model or version as an MLflow prompt. */
export function isPromptTagged(tags: KeyValue[]): boolean {
  let value: string | undefined;
  for (const tag of tags) if (tag.key === PROMPT_TAG_KEY) value = tag.value;
  return value?.toLowerCase() === 'true';
}
