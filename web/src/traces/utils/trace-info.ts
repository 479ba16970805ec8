/** What the traces list and the trace page read from a trace's info. Pure functions. */
import type { TraceInfo } from '../api/types.ts';
import { TRACE_TOKEN_USAGE, tokenUsageOf, type TokenUsage } from './token-usage.ts';

export const TRACE_NAME_TAG = 'mlflow.traceName';
export const SOURCE_RUN = 'mlflow.sourceRun';
export const TRACE_USER = 'mlflow.trace.user';
export const TRACE_SESSION = 'mlflow.trace.session';

/** Proto Timestamp JSON ("2026-12-04T18:29:54.547Z") or epoch milliseconds, as milliseconds. */
export function timestampMillis(value: string | number | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Proto Duration JSON ("0.031s", "12s", "1.5e-3s") as milliseconds. */
export function durationMillis(value: string | number | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return value;
  const match = /^(-?[\d.]+(?:e-?\d+)?)s$/i.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

export function traceStart(info: TraceInfo): number | undefined {
  return timestampMillis(info.request_time);
}

export function traceLatency(info: TraceInfo): number | undefined {
  return durationMillis(info.execution_duration);
}

/** The trace's name: the `mlflow.traceName` tag (the root span's name). */
export function traceName(info: TraceInfo): string | undefined {
  return info.tags?.[TRACE_NAME_TAG];
}

/** The run the trace belongs to (`mlflow.sourceRun`, set when traced inside a run). */
export function traceRunId(info: TraceInfo): string | undefined {
  return info.trace_metadata?.[SOURCE_RUN] || undefined;
}

export function traceTokenUsageFromInfo(info: TraceInfo): TokenUsage | undefined {
  return tokenUsageOf(info.trace_metadata?.[TRACE_TOKEN_USAGE]);
}

/** The user's tags (MLflow's own `mlflow.*` tags are bookkeeping). */
export function userTags(info: TraceInfo): Array<[string, string]> {
  return Object.entries(info.tags ?? {})
    .filter(([key]) => !key.startsWith('mlflow.'))
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * A request or response preview on one line: the JSON the client stored, with a lone string
 * unquoted and a one-key object shown as its value (`{"q": "hi"}` → `hi`) the way one reads it.
 */
export function previewText(preview: string | undefined): string {
  if (!preview) return '';
  try {
    const value = JSON.parse(preview) as unknown;
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 1 && typeof entries[0]![1] === 'string') return entries[0]![1];
    }
    return JSON.stringify(value);
  } catch {
    return preview;
  }
}

export function stateLabel(state: TraceInfo['state']): string {
  if (!state || state === 'STATE_UNSPECIFIED') return 'UNKNOWN';
  return state;
}
