import { formatDateTime, formatRelative } from '../utils/time.ts';

/** A time in a table: relative ("12 minutes ago"), the full time and timezone on hover. */
export function RelativeTime({ ms, now }: { ms: number | undefined | null; now: number }) {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms <= 0) return <span className="muted">—</span>;
  const full = formatDateTime(ms);
  return (
    <time dateTime={new Date(ms).toISOString()} title={full}>
      {formatRelative(ms, now)}
    </time>
  );
}
