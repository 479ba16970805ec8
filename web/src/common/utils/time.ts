/**
 * The one time format of the UI. Tables show a relative time ("12 minutes ago") with the full
 * time and timezone on hover; pages show the full time with the timezone; chart axes use the same
 * clock and name the timezone in their label. Times are the browser's local time. Pure functions.
 */

const pad = (n: number) => String(n).padStart(2, '0');

function valid(ms: number | undefined | null): ms is number {
  return ms !== undefined && ms !== null && Number.isFinite(ms) && ms > 0;
}

/** The browser's timezone as a short name ("UTC", "CET", "GMT+1") at a given moment. */
const formatters = new Map<string, Intl.DateTimeFormat>();

export function timeZoneName(ms: number = Date.now(), timeZone?: string): string {
  // Building a formatter is slow; tables format many times, so each zone's is kept.
  const key = timeZone ?? '';
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short', ...(timeZone ? { timeZone } : {}) });
    formatters.set(key, formatter);
  }
  const parts = formatter.formatToParts(new Date(ms));
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? 'local time';
}

/** "2026-12-04 18:18:05" in local time. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The full time with its timezone, "2026-12-04 18:18:05 UTC"; "—" when unknown. */
export function formatDateTime(ms: number | undefined | null): string {
  if (!valid(ms)) return '—';
  return `${formatClock(ms)} ${timeZoneName(ms)}`;
}

const UNITS: Array<[number, string]> = [
  [60, 'minute'],
  [3600, 'hour'],
  [86400, 'day'],
  [86400 * 30, 'month'],
  [86400 * 365, 'year'],
];

/** "just now", "12 minutes ago", "3 days ago"; "in 5 minutes" for a future time; "—" when unknown. */
export function formatRelative(ms: number | undefined | null, now: number): string {
  if (!valid(ms)) return '—';
  const signed = (now - ms) / 1000;
  const diff = Math.abs(signed);
  if (diff < 60) return 'just now';
  let chosen = UNITS[0] as [number, string];
  for (const unit of UNITS) if (diff >= unit[0]) chosen = unit;
  const n = Math.floor(diff / chosen[0]);
  const text = `${n} ${chosen[1]}${n === 1 ? '' : 's'}`;
  return signed >= 0 ? `${text} ago` : `in ${text}`;
}

/**
 * Tick labels of a time axis (values in seconds since the epoch): the clock when the ticks are
 * within one day, the date and clock within a year, the date beyond. Same local clock as the tables.
 */
export function formatAxisTimes(seconds: number[], spanSeconds: number): string[] {
  return seconds.map((s) => {
    const d = new Date(s * 1000);
    const clock = spanSeconds < 600 ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (spanSeconds <= 86400) return clock;
    const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (spanSeconds <= 86400 * 180) return `${date.slice(5)} ${clock}`;
    return date;
  });
}

/** A time axis' label: what it measures and the timezone of its ticks, "run start (UTC)". */
export function timeAxisLabel(label: string | undefined): string {
  return `${label ?? 'time'} (${timeZoneName()})`;
}
