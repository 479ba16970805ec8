import { describe, expect, test } from 'vitest';
import { CHART_SETTINGS_KEY, DEFAULT_CHART_SETTINGS, parseChartSettings, storedChartSettings } from './chart-settings.ts';

const storage = (items: Record<string, string>) => ({ getItem: (key: string) => items[key] ?? null });

describe('chart settings', () => {
  test('stored settings are read back, with smoothing kept in range', () => {
    expect(storedChartSettings(storage({ [CHART_SETTINGS_KEY]: JSON.stringify({ xMode: 'wall', logY: true, smoothing: 2 }) }))).toEqual({ xMode: 'wall', logY: true, smoothing: 0.99 });
  });

  test('missing, malformed or foreign settings fall back to the defaults', () => {
    expect(storedChartSettings(storage({}))).toEqual(DEFAULT_CHART_SETTINGS);
    expect(storedChartSettings(storage({ [CHART_SETTINGS_KEY]: '{not json' }))).toEqual(DEFAULT_CHART_SETTINGS);
    expect(storedChartSettings(undefined)).toEqual(DEFAULT_CHART_SETTINGS);
    expect(parseChartSettings({ xMode: 'epoch', logY: false, smoothing: 0 })).toBeUndefined();
  });
});
