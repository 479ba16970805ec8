import { describe, expect, test } from 'vitest';
import { formatAge, formatBytes, formatDuration, formatMetric, runDuration, shortId } from './format.ts';

describe('format', () => {
  test('durations read naturally at every scale', () => {
    expect(formatDuration(450)).toBe('450ms');
    expect(formatDuration(12_300)).toBe('12.3s');
    expect(formatDuration(187_000)).toBe('3m 07s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(2 * 86_400_000 + 3_600_000)).toBe('2d 01h');
    expect(formatDuration(undefined)).toBe('—');
  });

  test('a running run is measured against now', () => {
    expect(runDuration(1000, undefined, 5000)).toBe(4000);
    expect(runDuration(1000, 2000, 5000)).toBe(1000);
    expect(runDuration(undefined, 2000, 5000)).toBeUndefined();
  });

  test('bytes, metrics, ages and ids', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatMetric(0.123456789)).toBe('0.123457');
    expect(formatMetric(1e-7)).toBe('1.000e-7');
    expect(formatMetric(Infinity)).toBe('∞');
    expect(formatMetric(NaN)).toBe('NaN');
    expect(formatAge(0, 1000)).toBe('—');
    expect(formatAge(1000, 1000 + 3 * 3600_000)).toBe('3 hours ago');
    expect(shortId('0123456789abcdef')).toBe('01234567');
  });
});
