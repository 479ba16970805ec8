import { z } from 'zod';
import { MlflowError, missingParameter } from '../domain/errors.ts';

/**
 * Zod building blocks for MLflow requests. GET requests carry their fields in the query string
 * (everything arrives as text, repeated keys as arrays), POST/PATCH/DELETE in a JSON body, so the
 * helpers accept both the JSON type and its query-string spelling.
 */

/** An int64 field: a JSON number or its decimal text. */
export const int64 = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform((text) => Number(text)),
]);

/** A double field: a JSON number, numeric text, or MLflow's "NaN" / "Infinity" / "-Infinity". */
export const double = z.union([
  // Any JSON number, including one too large for a double (JSON.parse makes it ±Infinity).
  z.custom<number>((value) => typeof value === 'number' && !Number.isNaN(value)),
  z
    .string()
    .regex(/^(NaN|-?Infinity|[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$/)
    .transform((text) => Number(text)),
]);

/** A bool field: JSON bool or "true"/"false" in any case (python sends "True"). */
export const bool = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i)
    .transform((text) => text.toLowerCase() === 'true'),
]);

/**
 * A string field. Only a JSON string is one: MLflow's proto parsing fails on a number or a bool
 * and its handler then answers 400 "Invalid value 123 for parameter 'name' supplied".
 */
export const text = z.string();

/** A repeated string field: one value in a query string still means a one-element list. */
export const textList = z.union([z.array(text), text.transform((value) => [value])]);

/**
 * A list of experiment ids. Old clients sent them as JSON numbers; MLflow never rejected such a
 * list (it drops what it cannot parse), so numbers are taken as their decimal text.
 */
const idText = z.union([z.string(), z.number().int().transform((n) => String(n))]);
export const idList = z.union([z.array(idText), idText.transform((value) => [value])]);

export const keyValue = z.object({ key: text, value: text.optional() });

/** A plain object of request fields, from the query string (GET) or the JSON body. */
export function requestFields(method: string, query: unknown, body: unknown): Record<string, unknown> {
  const source = method === 'GET' || method === 'HEAD' ? query : body;
  if (source && typeof source === 'object' && !Array.isArray(source)) {
    return source as Record<string, unknown>;
  }
  return {};
}

/**
 * The JSON text each request's fields were parsed from, so an error can quote a number as the
 * client wrote it (`9.0` stays `9.0`, as in MLflow's Python-side message, not `9`).
 */
const jsonSources = new WeakMap<object, string>();

export function rememberJsonSource(fields: object, source: string | undefined): void {
  if (source !== undefined) jsonSources.set(fields, source);
}

export function jsonSourceOf(body: unknown): string | undefined {
  return body !== null && typeof body === 'object' ? jsonSources.get(body) : undefined;
}

/** Validates request fields against a schema and turns the first problem into MLflow's message. */
export function parseFields<T extends z.ZodType>(schema: T, fields: Record<string, unknown>): z.output<T> {
  const result = schema.safeParse(fields);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw MlflowError.invalidParameter('Invalid request.');
  const path = fieldPath(issue.path);
  const topKey = issue.path[0];
  const value = topKey === undefined ? undefined : valueAt(fields, issue.path);
  if (value === undefined || value === null) {
    throw missingParameter(path || 'request');
  }
  if (issue.code === 'custom' && issue.message) {
    throw MlflowError.invalidParameter(issue.message);
  }
  const literal = issue.path.length === 1 && typeof value === 'number' ? numberLiteral(jsonSources.get(fields), String(topKey)) : undefined;
  throw invalidValue(path, value, literal);
}

/** MLflow's wording for a field of the wrong type, with the Python type name of what was sent. */
export function invalidValue(path: string, value: unknown, literal?: string): MlflowError {
  const shown = literal ?? JSON.stringify(value);
  const type = literal !== undefined && /[.eE]/.test(literal) ? 'float' : pythonTypeName(value);
  return MlflowError.invalidParameter(
    `Invalid value ${shown} for parameter '${path}' supplied:  Hint: Value was of type '${type}'. See the API docs for more information about request parameters.`,
  );
}

/** `metrics[0].timestamp`, as MLflow names a field inside a list. */
function fieldPath(path: PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** The number literal of a top-level field in the JSON text, when it can be found unambiguously. */
function numberLiteral(source: string | undefined, key: string): string | undefined {
  if (source === undefined) return undefined;
  const quotedKey = JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const matches = [...source.matchAll(new RegExp(`${quotedKey}\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)`, 'g'))];
  return matches.length === 1 ? matches[0]?.[1] : undefined;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function pythonTypeName(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** MLflow's ViewType, by name or by enum number. */
export const viewType = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const byNumber: Record<string, 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL'> = { '1': 'ACTIVE_ONLY', '2': 'DELETED_ONLY', '3': 'ALL' };
    const text = String(value).toUpperCase();
    const resolved = byNumber[text] ?? (['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const).find((v) => v === text);
    if (!resolved) {
      ctx.addIssue({ code: 'custom', message: `Invalid view type ${JSON.stringify(value)}. Valid values are ACTIVE_ONLY, DELETED_ONLY, ALL.` });
      return z.NEVER;
    }
    return resolved;
  });

/** A key/value list whose values are required (params, tags). */
export const keyValueList = z.array(z.object({ key: text, value: text }));
