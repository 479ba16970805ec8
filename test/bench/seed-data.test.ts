import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../bench/config.ts';
import { compareRun } from '../../bench/load.ts';
import { historyStepsToVerify, runsToVerify, searchRun, seedPlan, windowRates } from '../../bench/seed-data.ts';

describe('the seeding split of npm run bench', () => {
  it('measures the standard profile on the first 5,000 runs and 250,000 points and leaves the rest to follow', () => {
    const plan = seedPlan(loadConfig([], {}));
    assert.deepEqual(plan.runs, { total: 25_000, sample: 5_000, rest: 20_000 });
    assert.deepEqual(plan.points, { total: 1_000_000, sample: 250_000, rest: 750_000 });
    const quick = seedPlan(loadConfig(['--quick'], {}));
    assert.deepEqual(quick.runs, { total: 2_000, sample: 1_000, rest: 1_000 });
    assert.deepEqual(quick.points, { total: 100_000, sample: 50_000, rest: 50_000 });
  });

  it('keeps the sample when the issue\'s 100,000 runs are asked for, so only the rest grows', () => {
    const plan = seedPlan(loadConfig([], { BENCH_FILTER_RUNS: '100000' }));
    assert.deepEqual(plan.runs, { total: 100_000, sample: 5_000, rest: 95_000 });
  });

  it('seeds 100,000 runs with a 1,000-run API sample in the --search-scale mode, unless told otherwise', () => {
    const config = loadConfig(['--search-scale'], {});
    assert.equal(config.searchScale, true);
    assert.deepEqual(seedPlan(config).runs, { total: 100_000, sample: 1_000, rest: 99_000 });
    assert.equal(config.deepOffset, 50_000);
    assert.equal(config.mlflowSearchSamples, 1);
    assert.equal(loadConfig(['--search-scale', '--filter-runs', '50000'], {}).filterRuns, 50_000);
    assert.equal(loadConfig([], {}).searchScale, false);
  });

  it('seeds everything through the API when the sample is as large as the data', () => {
    const plan = seedPlan(loadConfig(['--seed-sample-runs', '25000', '--seed-sample-points=2000000'], {}));
    assert.equal(plan.runs.rest, 0);
    assert.deepEqual(plan.points, { total: 1_000_000, sample: 1_000_000, rest: 0 });
  });

  it('ends the points sample on a 1,000-point batch', () => {
    const plan = seedPlan(loadConfig([], { BENCH_SEED_SAMPLE_POINTS: '123456' }));
    assert.deepEqual(plan.points, { total: 1_000_000, sample: 123_000, rest: 877_000 });
  });
});

describe('the seeded data', () => {
  it('is the same for the same run index and puts each run in its experiment', () => {
    assert.deepEqual(searchRun(12_345, 5_000), searchRun(12_345, 5_000));
    assert.notDeepEqual(searchRun(1, 5_000).metrics, searchRun(2, 5_000).metrics);
    assert.equal(searchRun(4_999, 5_000).experimentIndex, 0);
    assert.equal(searchRun(5_000, 5_000).experimentIndex, 1);
    assert.equal(searchRun(7, 5_000).name, 'run-7');
  });

  it('is read back from both sides of the sample\'s end and from every experiment', () => {
    const plan = seedPlan(loadConfig([], { BENCH_FILTER_RUNS: '100000' }));
    const runs = runsToVerify(plan, 25_000);
    for (const g of [0, 4_999, 5_000, 52_500, 99_999, 25_000, 50_000, 75_000]) assert.ok(runs.includes(g), `run ${g} is read back`);
    assert.ok(runs.every((g) => g >= 0 && g < 100_000));
    const steps = historyStepsToVerify(plan);
    assert.ok(steps.includes(249_998), 'a window spans the last API-seeded point and the first bulk-loaded one');
    assert.ok(steps.every((s) => s >= 0 && s + 4 < 1_000_000));
  });

  it('names what a server returned differently from the generator', () => {
    const want = searchRun(3, 1_000);
    const got = {
      info: { run_name: 'run-3', start_time: String(want.startTime), lifecycle_stage: 'active' },
      data: {
        tags: [...want.tags, { key: 'mlflow.runName', value: 'run-3' }],
        params: want.params,
        metrics: want.metrics.map((m) => ({ ...m, timestamp: String(m.timestamp) })),
      },
    };
    assert.deepEqual(compareRun(got, want).differences, []);
    assert.equal(compareRun(got, want).shape, 'tags mlflow.runName,team; params lr,model,optimizer; metrics acc,f1,loss');
    const changed = { ...got, data: { ...got.data, metrics: got.data.metrics.map((m) => (m.key === 'acc' ? { ...m, value: m.value + 1e-9 } : m)) } };
    assert.equal(compareRun(changed, want).differences.length, 1);
    assert.match(compareRun(changed, want).differences[0] as string, /^metric acc=/);
  });
});

describe('the seeding rate in windows', () => {
  it('splits the requests, in order of completion, into consecutive windows and gives each its own rate', () => {
    // Ten runs done at 100, 200, ... 1,000 ms, listed out of order as concurrent clients finish them.
    const done = [300, 100, 200, 500, 400, 700, 600, 900, 800, 1000].map((at) => ({ at, amount: 1 }));
    assert.deepEqual(windowRates(0, done, 5), [10, 10, 10, 10, 10]);
    // A slow stretch moves only the window it falls in.
    const slow = done.map((d) => ({ at: d.at > 400 ? d.at + 600 : d.at, amount: 1 }));
    assert.deepEqual(windowRates(0, slow, 5), [10, 10, 2.5, 10, 10]);
  });

  it('counts what each request carried (points per batch) and never makes more windows than requests', () => {
    assert.deepEqual(windowRates(1000, [{ at: 1500, amount: 1000 }, { at: 2000, amount: 500 }], 5), [2000, 1000]);
    assert.deepEqual(windowRates(0, [], 5), []);
  });
});
