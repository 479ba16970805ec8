import { describe, expect, it } from 'vitest';
import { formatAxisTimes, formatClock, formatDateTime, formatRelative, timeAxisLabel, timeZoneName } from './time.ts';

describe('time format', () => {
  it('shows the full time with the browser timezone and a dash when the time is unknown', () => {
    const ms = new Date(2026, 11, 4, 18, 18, 5).getTime();
    expect(formatDateTime(ms)).toBe(`2026-12-04 18:18:05 ${timeZoneName(ms)}`);
    expect(formatDateTime(undefined)).toBe('—');
    expect(formatDateTime(0)).toBe('—');
  });

  it('names a timezone by its short name', () => {
    expect(timeZoneName(Date.UTC(2026, 0, 1), 'UTC')).toBe('UTC');
    expect(timeZoneName(Date.UTC(2026, 0, 1), 'America/New_York')).toBe('EST');
  });

  it('says how long ago a time was in the largest whole unit, and how far ahead a future one is', () => {
    const now = Date.UTC(2026, 11, 6, 12, 0, 0);
    expect(formatRelative(now - 20_000, now)).toBe('just now');
    expect(formatRelative(now - 12 * 60_000, now)).toBe('12 minutes ago');
    expect(formatRelative(now - 60 * 60_000, now)).toBe('1 hour ago');
    expect(formatRelative(now - 3 * 86400_000, now)).toBe('3 days ago');
    expect(formatRelative(now - 400 * 86400_000, now)).toBe('1 year ago');
    expect(formatRelative(now + 5 * 60_000, now)).toBe('in 5 minutes');
    expect(formatRelative(undefined, now)).toBe('—');
  });

  it('labels time-axis ticks with the clock within a day and adds the date for longer spans', () => {
    const t = new Date(2026, 11, 4, 9, 5, 7).getTime() / 1000;
    expect(formatAxisTimes([t], 300)).toEqual(['09:05:07']);
    expect(formatAxisTimes([t], 3600)).toEqual(['09:05']);
    expect(formatAxisTimes([t], 86400 * 3)).toEqual(['12-04 09:05']);
    expect(formatAxisTimes([t], 86400 * 400)).toEqual(['2026-12-04']);
  });

  it('uses the same clock in the full time and on the axes, and names the timezone in the axis label', () => {
    const ms = new Date(2026, 11, 4, 9, 5, 7).getTime();
    expect(formatClock(ms)).toBe('2026-12-04 09:05:07');
    expect(timeAxisLabel('run start')).toBe(`run start (${timeZoneName()})`);
  });
});
