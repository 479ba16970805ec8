/**
 * The benchmark's seeded data, defined once: what every server holds before the rounds, whether
 * it arrived through the REST API (bench/load.ts) or was bulk-loaded into MLflow's own tables
 * after the API sample (bench/mlflow-bulk.ts). Everything is a pure function of the run index or
 * step, so each server gets byte-identical values however they reach it.
 */

/** Fixed base time so every server gets identical data. */
export const BASE_TS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** Small deterministic PRNG: the same seed gives the same values in every process. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** Run `g` of the search dataset, as runs/create + one log-batch send it. */
export interface SearchRun {
  /** Index of its experiment in the list of search experiments. */
  experimentIndex: number;
  name: string;
  startTime: number;
  /** The tags runs/create sends (the server adds its own, e.g. mlflow.runName). */
  tags: KeyValue[];
  params: KeyValue[];
  metrics: MetricPoint[];
}

/**
 * The search dataset: `perExperiment` runs in each experiment; run g has params model ('a' for
 * ~80%), lr, optimizer; metrics acc, loss, f1 (uniform, distinct); tag team.
 */
export function searchRun(g: number, perExperiment: number): SearchRun {
  const rnd = random(g + 1);
  const startTime = BASE_TS + g * 1000;
  const model = rnd() < 0.8 ? 'a' : 'b';
  const metrics = ['acc', 'loss', 'f1'].map((key) => ({ key, value: rnd(), timestamp: startTime + 500, step: 0 }));
  const params = [
    { key: 'model', value: model },
    { key: 'lr', value: String(Math.round(rnd() * 1000) / 10000) },
    { key: 'optimizer', value: g % 2 ? 'adam' : 'sgd' },
  ];
  return {
    experimentIndex: Math.floor(g / perExperiment),
    name: `run-${g}`,
    startTime,
    tags: [{ key: 'team', value: ['red', 'green', 'blue'][g % 3] as string }],
    params,
    metrics,
  };
}

/** The long metric series: key `loss`, one point per step, timestamp BASE_TS + step. */
export const HISTORY_KEY = 'loss';

export function historyValue(step: number): number {
  return Math.exp(-step / 200_000) + 0.05 * Math.sin(step / 50) + (step % 99_991 === 77 ? 3 : 0);
}

export function historyPoint(step: number): MetricPoint {
  return { key: HISTORY_KEY, value: historyValue(step), timestamp: BASE_TS + step, step };
}

/**
 * How seeding is split: the first `sample` runs (points) go through every server's REST API and
 * give the seeding rates; the rest of the same data (`rest`) follows through the API on servers
 * without a bulk loader and straight into the database on those with one (MLflow).
 */
export interface SeedPlan {
  runs: { total: number; sample: number; rest: number };
  points: { total: number; sample: number; rest: number };
}

export function seedPlan(c: { filterRuns: number; historyPoints: number; seedSampleRuns: number; seedSamplePoints: number }): SeedPlan {
  const split = (total: number, wanted: number): { total: number; sample: number; rest: number } => {
    const sample = Math.min(total, Math.max(1, Math.floor(wanted)));
    return { total, sample, rest: total - sample };
  };
  // History points are sent in 1,000-point batches: the sample ends on a batch boundary.
  const points = split(c.historyPoints, c.seedSamplePoints >= c.historyPoints ? c.historyPoints : Math.max(1000, Math.floor(c.seedSamplePoints / 1000) * 1000));
  return { runs: split(c.filterRuns, c.seedSampleRuns), points };
}

/**
 * Runs read back through the API after seeding: the first and last of the API sample, the first,
 * middle and last of the rest (bulk-loaded into MLflow), and the first run of each experiment.
 */
export function runsToVerify(plan: SeedPlan, perExperiment: number): number[] {
  const { total, sample } = plan.runs;
  const picks = [0, sample - 1, sample, Math.floor((sample + total) / 2), total - 1];
  for (let first = perExperiment; first < total; first += perExperiment) picks.push(first);
  return [...new Set(picks.filter((g) => g >= 0 && g < total))].sort((a, b) => a - b);
}

/** Steps of the long series read back in 5-step windows: the start, across the sample's end, the middle, the end. */
export function historyStepsToVerify(plan: SeedPlan): number[] {
  const { total, sample } = plan.points;
  const last = total - 5;
  return [...new Set([0, sample - 2, Math.floor(total / 2), last].map((s) => Math.min(Math.max(0, s), Math.max(0, last))))].sort((a, b) => a - b);
}

/**
 * The seeding rows are the median rate over this many consecutive windows of each server's API
 * sample (min–max beside it), not one rate over the whole sample: the servers are seeded one
 * after the other, so a slow stretch (other work on the shared cores) lands on one server only;
 * in windows it moves one or two of them, not the row's median.
 */
export const SEED_RATE_WINDOWS = 5;

/** One request of a seeding: when it completed (ms, performance.now()) and how many runs or points it carried. */
export interface SeedCompletion {
  at: number;
  amount: number;
}

/**
 * Per-second rates over consecutive windows of a seeding that started at `startMs`: the requests
 * in order of completion, split into `windows` groups of (nearly) equal count; each window runs
 * from the previous one's last completion (or the start) to its own last completion.
 */
export function windowRates(startMs: number, done: readonly SeedCompletion[], windows = SEED_RATE_WINDOWS): number[] {
  const sorted = [...done].sort((a, b) => a.at - b.at);
  const count = Math.max(1, Math.min(windows, sorted.length));
  const rates: number[] = [];
  let from = startMs;
  for (let w = 0; w < count; w++) {
    const part = sorted.slice(Math.round((w * sorted.length) / count), Math.round(((w + 1) * sorted.length) / count));
    if (part.length === 0) continue;
    const end = (part[part.length - 1] as SeedCompletion).at;
    const amount = part.reduce((sum, item) => sum + item.amount, 0);
    if (end > from) rates.push((amount * 1000) / (end - from));
    from = end;
  }
  return rates;
}
