/**
 * Spans of a trace as the trace page shows them: normalised from the wire, arranged as a tree by
 * their parent ids, and flattened into the rows of the span table. Pure functions.
 */
import type { WireSpan } from '../api/types.ts';
import { decodeAttributes } from './attributes.ts';
import { sumTokenUsage, tokenUsageOf, type TokenUsage } from './token-usage.ts';

/** MLflow's reserved span attributes (SpanAttributeKey), shown apart from the others. */
export const SPAN_KEYS = {
  inputs: 'mlflow.spanInputs',
  outputs: 'mlflow.spanOutputs',
  type: 'mlflow.spanType',
  requestId: 'mlflow.traceRequestId',
  functionName: 'mlflow.spanFunctionName',
  chatMessages: 'mlflow.chat.messages',
  chatTools: 'mlflow.chat.tools',
  tokenUsage: 'mlflow.chat.tokenUsage',
} as const;

export interface SpanEvent {
  name: string;
  /** Milliseconds since the epoch. */
  time: number | undefined;
  attributes: Record<string, unknown>;
}

export interface Span {
  /** The id as the wire spells it (base64), the key of everything else. */
  id: string;
  /** The id as hex, as MLflow's UI and OpenTelemetry tools print it. */
  hexId: string;
  parentId: string | undefined;
  name: string;
  /** MLflow span type (CHAT_MODEL, LLM, RETRIEVER, TOOL, ...), UNKNOWN when unset. */
  type: string;
  /** Milliseconds since the epoch (fractional: nanosecond clocks). */
  start: number;
  /** Undefined while the span is still open. */
  end: number | undefined;
  statusCode: 'OK' | 'ERROR' | 'UNSET';
  statusMessage: string;
  inputs: unknown;
  outputs: unknown;
  /** The other attributes (not inputs, outputs, type or the trace id). */
  attributes: Record<string, unknown>;
  /** Every attribute, as sent. */
  allAttributes: Record<string, unknown>;
  events: SpanEvent[];
  tokenUsage: TokenUsage | undefined;
}

const HIDDEN_ATTRIBUTES = new Set<string>([SPAN_KEYS.inputs, SPAN_KEYS.outputs, SPAN_KEYS.type, SPAN_KEYS.requestId]);

/** Nanoseconds (number or int64 string) to milliseconds. */
export function nanosToMillis(value: number | string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return n / 1e6;
}

/** A base64 span id as hex; an id that is already hex (or not base64) comes back as it is. */
export function spanIdToHex(id: string): string {
  if (/^[0-9a-f]{16}$/i.test(id)) return id.toLowerCase();
  try {
    const binary = atob(id);
    let hex = '';
    for (let i = 0; i < binary.length; i++) hex += binary.charCodeAt(i).toString(16).padStart(2, '0');
    return hex || id;
  } catch {
    return id;
  }
}

function statusCode(code: string | undefined): Span['statusCode'] {
  if (!code) return 'UNSET';
  if (/ERROR/.test(code)) return 'ERROR';
  if (/OK/.test(code)) return 'OK';
  return 'UNSET';
}

export function normaliseSpan(wire: WireSpan): Span {
  const all = decodeAttributes(wire.attributes);
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) if (!HIDDEN_ATTRIBUTES.has(key)) attributes[key] = value;
  const type = all[SPAN_KEYS.type];
  const parent = wire.parent_span_id;
  return {
    id: wire.span_id,
    hexId: spanIdToHex(wire.span_id),
    parentId: parent ? parent : undefined,
    name: wire.name,
    type: typeof type === 'string' && type ? type : 'UNKNOWN',
    start: nanosToMillis(wire.start_time_unix_nano) ?? 0,
    end: nanosToMillis(wire.end_time_unix_nano),
    statusCode: statusCode(wire.status?.code),
    statusMessage: wire.status?.message ?? '',
    inputs: all[SPAN_KEYS.inputs],
    outputs: all[SPAN_KEYS.outputs],
    attributes,
    allAttributes: all,
    events: (wire.events ?? []).map((event) => ({ name: event.name, time: nanosToMillis(event.time_unix_nano), attributes: decodeAttributes(event.attributes) })),
    tokenUsage: tokenUsageOf(all[SPAN_KEYS.tokenUsage]),
  };
}

export interface SpanNode {
  span: Span;
  children: SpanNode[];
}

/**
 * The spans as a forest: children under their parent, in start order. A span whose parent is not
 * in the trace (a partial trace, a span from another service) becomes a root, so nothing is
 * dropped; a parent cycle (bad data) is broken where it closes.
 */
export function buildSpanTree(spans: Span[]): SpanNode[] {
  const nodes = new Map<string, SpanNode>();
  for (const span of spans) if (!nodes.has(span.id)) nodes.set(span.id, { span, children: [] });
  const parentOf = new Map<SpanNode, SpanNode>();
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parentId = node.span.parentId;
    const parent = parentId !== undefined && parentId !== node.span.id ? nodes.get(parentId) : undefined;
    if (parent) {
      parent.children.push(node);
      parentOf.set(node, parent);
    } else roots.push(node);
  }
  // Spans on a parent cycle are reachable from no root: cut each cycle at one span, which becomes a root.
  const reached = new Set<SpanNode>();
  const walk = (from: SpanNode) => {
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (reached.has(node)) continue;
      reached.add(node);
      stack.push(...node.children);
    }
  };
  for (const root of roots) walk(root);
  if (reached.size < nodes.size) {
    for (const node of nodes.values()) {
      if (reached.has(node)) continue;
      const parent = parentOf.get(node);
      if (parent) parent.children = parent.children.filter((child) => child !== node);
      roots.push(node);
      walk(node);
    }
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.span.start - b.span.start || a.span.name.localeCompare(b.span.name);
  roots.sort(byStart);
  for (const node of nodes.values()) if (node.children.length > 1) node.children.sort(byStart);
  return roots;
}

export interface SpanRow {
  span: Span;
  depth: number;
  childCount: number;
  /** The span or one below it failed. */
  errorBelow: boolean;
}

/** The rows of the span table: depth-first, skipping what lies under a collapsed span. */
export function flattenSpanTree(roots: SpanNode[], collapsed: ReadonlySet<string>): SpanRow[] {
  const rows: SpanRow[] = [];
  const errors = new Map<SpanNode, boolean>();
  const hasError = (node: SpanNode): boolean => {
    const known = errors.get(node);
    if (known !== undefined) return known;
    let result = node.span.statusCode === 'ERROR';
    for (const child of node.children) if (hasError(child)) result = true;
    errors.set(node, result);
    return result;
  };
  // An explicit stack: a 1,000-deep chain must not overflow the call stack.
  const stack: Array<{ node: SpanNode; depth: number }> = roots.map((node) => ({ node, depth: 0 })).reverse();
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    rows.push({ span: node.span, depth, childCount: node.children.length, errorBelow: hasError(node) });
    if (collapsed.has(node.span.id)) continue;
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, depth: depth + 1 });
  }
  return rows;
}

/**
 * Token usage of a whole trace from its spans: each span that reports usage counts once, and a
 * span below one that already reports it does not count again (a framework span wrapping the
 * model call reports the same tokens), as MLflow aggregates it.
 */
export function traceTokenUsage(roots: SpanNode[]): TokenUsage | undefined {
  const found: TokenUsage[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.span.tokenUsage) found.push(node.span.tokenUsage);
    else stack.push(...node.children);
  }
  return sumTokenUsage(found);
}
