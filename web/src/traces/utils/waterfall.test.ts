import { describe, expect, it } from 'vitest';
import { barOf, formatOffset, formatSpanDuration, ticks, timeWindow } from './waterfall.ts';

describe('waterfall geometry', () => {
  const window = timeWindow(
    [
      { start: 1000, end: 1100 },
      { start: 1010, end: 1060 },
      { start: 1090, end: 1200 },
    ],
    5000,
  );

  it('spans the window from the earliest start to the latest end', () => {
    expect(window).toEqual({ start: 1000, length: 200 });
  });

  it('places a bar at its start offset and as long as it ran, in percent of the window', () => {
    expect(barOf({ start: 1000, end: 1100 }, window, 5000)).toEqual({ left: 0, width: 50, offset: 0, duration: 100 });
    expect(barOf({ start: 1010, end: 1060 }, window, 5000)).toEqual({ left: 5, width: 25, offset: 10, duration: 50 });
    const last = barOf({ start: 1090, end: 1200 }, window, 5000);
    expect(last.left).toBeCloseTo(45);
    expect(last.width).toBeCloseTo(55);
  });

  it('keeps a very short span visible and inside the track', () => {
    const tiny = barOf({ start: 1200, end: 1200 }, window, 5000);
    expect(tiny.width).toBeCloseTo(0.3);
    expect(tiny.left + tiny.width).toBeLessThanOrEqual(100);
  });

  it('draws a still-open span up to now and reports no duration', () => {
    const w = timeWindow([{ start: 0, end: undefined }], 50);
    expect(w).toEqual({ start: 0, length: 50 });
    expect(barOf({ start: 0, end: undefined }, w, 50)).toEqual({ left: 0, width: 100, offset: 0, duration: undefined });
  });

  it('never divides by zero for an empty or instant trace', () => {
    expect(timeWindow([], 0).length).toBeGreaterThan(0);
    expect(timeWindow([{ start: 5, end: 5 }], 0).length).toBeGreaterThan(0);
  });

  it('puts ticks at round steps across the window', () => {
    expect(ticks(200)).toEqual([0, 50, 100, 150, 200]);
    expect(ticks(31)).toEqual([0, 10, 20, 30]);
    expect(ticks(0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });

  it('labels offsets in µs, ms and s', () => {
    expect(formatOffset(0)).toBe('0');
    expect(formatOffset(0.25)).toBe('250µs');
    expect(formatOffset(12)).toBe('12ms');
    expect(formatOffset(1500)).toBe('1.5s');
  });

  it('formats span durations below a millisecond in µs', () => {
    expect(formatSpanDuration(0.203)).toBe('203µs');
    expect(formatSpanDuration(9.48)).toBe('9.48ms');
    expect(formatSpanDuration(2500)).toBe('2.5s');
    expect(formatSpanDuration(undefined)).toBe('—');
  });
});
