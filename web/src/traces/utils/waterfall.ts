/** Geometry of the trace timeline (waterfall): where each span's bar sits. Pure functions. */
import { formatDuration } from '../../common/utils/format.ts';

export interface TimeWindow {
  /** Milliseconds since the epoch. */
  start: number;
  /** Total length in milliseconds (at least a microsecond, so nothing divides by zero). */
  length: number;
}

/** The window every span fits in: from the earliest start to the latest end (open spans end at `now`). */
export function timeWindow(spans: Array<{ start: number; end: number | undefined }>, now: number): TimeWindow {
  if (spans.length === 0) return { start: 0, length: 1 };
  let start = Infinity;
  let end = -Infinity;
  for (const span of spans) {
    start = Math.min(start, span.start);
    end = Math.max(end, span.end ?? Math.max(now, span.start));
  }
  return { start, length: Math.max(end - start, 0.001) };
}

export interface Bar {
  /** Offset from the window start, percent of the window. */
  left: number;
  /** Percent of the window; never below `minWidth` so a 1 µs span stays visible. */
  width: number;
  /** Milliseconds from the trace start, for the label. */
  offset: number;
  duration: number | undefined;
}

export function barOf(span: { start: number; end: number | undefined }, window: TimeWindow, now: number, minWidth = 0.3): Bar {
  const offset = Math.max(0, span.start - window.start);
  const end = span.end ?? Math.max(now, span.start);
  const duration = span.end === undefined ? undefined : Math.max(0, span.end - span.start);
  let left = (offset / window.length) * 100;
  let width = (Math.max(0, end - span.start) / window.length) * 100;
  left = Math.min(100, Math.max(0, left));
  width = Math.max(minWidth, Math.min(width, 100 - left));
  if (left + width > 100) left = Math.max(0, 100 - width);
  return { left, width, offset, duration };
}

/** Round tick steps (1, 2, 5 × 10^n ms) giving about `count` ticks across the window. */
export function ticks(length: number, count = 5): number[] {
  if (!(length > 0)) return [0];
  const raw = length / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const out: number[] = [];
  for (let t = 0; t <= length + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** A tick or offset label: "0", "250µs", "12ms", "1.5s". */
export function formatOffset(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${Number(ms.toPrecision(3))}ms`;
  return `${Number((ms / 1000).toPrecision(3))}s`;
}

/** A span or trace duration: below a millisecond in µs, below a second in ms (3 digits), else as everywhere. */
export function formatSpanDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${Math.max(0, Math.round(ms * 1000))}µs`;
  if (ms < 1000) return `${Number(ms.toPrecision(3))}ms`;
  return formatDuration(ms);
}
