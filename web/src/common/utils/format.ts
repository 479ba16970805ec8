/** Display formatting shared by every page. Pure functions. */
import { formatDateTime, formatRelative } from './time.ts';

/** The full time with the timezone (see time.ts, the UI's one time format). */
export function formatTimestamp(ms: number | undefined | null): string {
  return formatDateTime(ms);
}

/** "1h 02m", "3m 07s", "12.3s", "450ms". */
export function formatDuration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const totalSeconds = Math.floor(seconds);
  const days = Math.floor(totalSeconds / 86400);
  const hours = Math.floor((totalSeconds % 86400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const secs = totalSeconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) return `${days}d ${pad(hours)}h`;
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  return `${minutes}m ${pad(secs)}s`;
}

/** Run duration: end − start, or now − start while it runs. */
export function runDuration(start: number | undefined, end: number | undefined, now: number): number | undefined {
  if (!start) return undefined;
  return (end ?? now) - start;
}

export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Metric values: up to 6 significant digits, exponent form for very small or large ones. */
export function formatMetric(value: number | undefined | null): string {
  if (value === undefined || value === null) return '';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) return value.toExponential(3);
  return String(Number(value.toPrecision(6)));
}

/** Relative age, "5 minutes ago" (see time.ts). */
export function formatAge(ms: number | undefined, now: number): string {
  return formatRelative(ms, now);
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
