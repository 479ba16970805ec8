/**
 * Token usage as MLflow 3 records it: the span attribute `mlflow.chat.tokenUsage` and the trace
 * metadata `mlflow.trace.tokenUsage` (a JSON string), both `{input_tokens, output_tokens,
 * total_tokens}`. Pure functions.
 */
import { parseJsonString } from './attributes.ts';

export const TRACE_TOKEN_USAGE = 'mlflow.trace.tokenUsage';

export interface TokenUsage {
  input: number | undefined;
  output: number | undefined;
  total: number | undefined;
}

function count(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Usage from an attribute or metadata value (object or JSON string); undefined when it holds none. */
export function tokenUsageOf(raw: unknown): TokenUsage | undefined {
  const value = parseJsonString(raw);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const input = count(record.input_tokens ?? record.prompt_tokens);
  const output = count(record.output_tokens ?? record.completion_tokens);
  let total = count(record.total_tokens);
  if (total === undefined && input !== undefined && output !== undefined) total = input + output;
  if (input === undefined && output === undefined && total === undefined) return undefined;
  return { input, output, total };
}

export function sumTokenUsage(list: TokenUsage[]): TokenUsage | undefined {
  if (list.length === 0) return undefined;
  const add = (pick: (u: TokenUsage) => number | undefined) => {
    const values = list.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
  };
  return { input: add((u) => u.input), output: add((u) => u.output), total: add((u) => u.total) };
}

/** "1,234 (1,000 in / 234 out)", or "—". */
export function formatTokenUsage(usage: TokenUsage | undefined): string {
  if (!usage) return '—';
  const n = (v: number | undefined) => (v === undefined ? '?' : v.toLocaleString('en-US'));
  if (usage.input === undefined && usage.output === undefined) return n(usage.total);
  return `${n(usage.total)} (${n(usage.input)} in / ${n(usage.output)} out)`;
}
