/** The filter box's vocabulary built from run rows. Pure functions. */
import type { FilterVocabulary } from './filter-suggest.ts';
import type { RunRow } from './run-rows.ts';

const MAX_VALUES = 50;

export function emptyVocabulary(): FilterVocabulary {
  return { metrics: [], params: [], tags: [], values: {} };
}

/** The vocabulary with the keys and (up to 50 distinct) param/tag values of `rows` added; keys sorted. */
export function addToVocabulary(base: FilterVocabulary, rows: RunRow[]): FilterVocabulary {
  const metrics = new Set(base.metrics);
  const params = new Set(base.params);
  const tags = new Set(base.tags);
  const values = new Map<string, Set<string>>(Object.entries(base.values).map(([k, v]) => [k, new Set(v)]));
  const addValue = (key: string, value: string) => {
    let set = values.get(key);
    if (!set) values.set(key, (set = new Set()));
    if (set.size < MAX_VALUES && value.length <= 200) set.add(value);
  };
  for (const row of rows) {
    for (const k in row.metrics) metrics.add(k);
    for (const [k, v] of Object.entries(row.params)) {
      params.add(k);
      addValue(`params.${k}`, v);
    }
    for (const [k, v] of Object.entries(row.tags)) {
      // System tags are searchable too (tags.mlflow.user), but their values are long and many.
      tags.add(k);
      if (!k.startsWith('mlflow.')) addValue(`tags.${k}`, v);
    }
  }
  const sorted = (s: Set<string>) => Array.from(s).sort((a, b) => a.localeCompare(b));
  return {
    metrics: sorted(metrics),
    params: sorted(params),
    tags: sorted(tags),
    values: Object.fromEntries(Array.from(values, ([k, v]) => [k, sorted(v)])),
  };
}
