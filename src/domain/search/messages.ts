/**
 * Error construction shared by every search parser. The wording follows MLflow's
 * `mlflow/utils/search_utils.py` so that clients and tests matching on upstream messages keep
 * working. Upstream interpolates Python sets (random order); we render Python-style lists in a
 * fixed order instead, so messages are deterministic.
 */
import { MlflowError } from '../errors.ts';

/** `['a', 'b']`, the way Python prints a list of strings. */
export function pyList(items: readonly string[]): string {
  return `[${items.map((s) => `'${s}'`).join(', ')}]`;
}

/** `('a', 'b')`, the way Python prints a tuple of strings. */
export function pyTuple(items: readonly string[]): string {
  return `(${items.map((s) => `'${s}'`).join(', ')})`;
}

export function invalid(message: string): MlflowError {
  return MlflowError.invalidParameter(message);
}

export function couldNotParseFilter(filter: string): MlflowError {
  return invalid(`Invalid filter '${filter}'. Could not be parsed.`);
}

export function invalidAttributeKey(key: string, validKeys: readonly string[]): MlflowError {
  return invalid(`Invalid attribute key '${key}' specified. Valid keys are '${pyList(validKeys)}'`);
}

export function invalidComparator(comparator: string, allowed: readonly string[]): MlflowError {
  return invalid(`Invalid comparator '${comparator}' not one of '${pyList(allowed)}'`);
}

export function notQuoted(raw: string): MlflowError {
  return invalid(
    `Parameter value is either not quoted or unidentified quote types used for string value ${raw}. ` +
      'Use either single or double quotes.',
  );
}

export const ONLY_RUN_ID_LIST =
  "Only the 'run_id' attribute supports comparison with a list of quoted string values.";

export function couldNotParseOrderBy(orderBy: string): MlflowError {
  return invalid(`Invalid order_by clause '${orderBy}'. Could not be parsed.`);
}
