import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../bench/config.ts';
import { emptyBackendResults, loadSummary, loadText, renderReport, reportMarkers, seedingText, withReportBlock, type Results } from '../../bench/report.ts';
import { fasttrackmlDatabaseUri, type Machine } from '../../bench/servers.ts';

const machine: Machine = {
  cpu: 'cpu',
  cores: 2,
  ramGiB: 8,
  kernel: 'Linux',
  os: 'Debian',
  node: 'v20',
  python: '3.11',
  mlflow: '3.18.0',
  fasttrackml: '0.6.0',
  trove: '0.1.0',
  postgres: '15',
  sqliteNode: '3.53',
  sqlitePython: '3.40',
};

/** A one-round SQLite result where every server measured get-run and only Trove and MLflow the trace and artifact rows. */
function results(): Results {
  const sqlite = emptyBackendResults('sqlite');
  const set = (server: 'trove' | 'mlflow' | 'fasttrackml', values: Record<string, number>): void => {
    for (const [k, v] of Object.entries(values)) (sqlite.values[server] ??= {})[k] = [v];
  };
  set('trove', { 'get-run.p50': 0.5, 'idle.mib': 120, 'peak.mib': 200, 'trace-search.p50': 20, 'upload.mibps': 300 });
  set('mlflow', { 'get-run.p50': 10, 'idle.mib': 2000, 'peak.mib': 3000, 'trace-search.p50': 500, 'upload.mibps': 150 });
  set('fasttrackml', { 'get-run.p50': 1, 'idle.mib': 40, 'peak.mib': 50 });
  return {
    config: loadConfig(['--quick', '--backends', 'sqlite'], {}),
    machine,
    startedAt: '2026-12-06T11:00:00.000Z',
    finishedAt: '2026-12-06T11:20:00.000Z',
    minutes: 20,
    load: [{ at: '', phase: 'start', avg: [3, 3, 3] }],
    backends: { sqlite },
  };
}

describe('the server benchmark report', () => {
  it('compares Trove with FastTrackML and MLflow, and marks rows a server cannot do as n/a', () => {
    const md = renderReport(results());
    assert.match(md, /\| workload \| SQLite: Trove vs FastTrackML \| SQLite: Trove vs MLflow \|/);
    assert.match(md, /\| get-run, 100 params \+ 100 metrics \| \*\*2\.0×\*\* \| \*\*20×\*\* \|/);
    assert.match(md, /\| search_traces, tag filter, page of 100 over 500 traces \| 20\.0 ms \| n\/a \| 500 ms \| n\/a \| \*\*25×\*\* \|/);
    assert.match(md, /\| artifact upload, 64 MiB through the proxy \| 300 MiB\/s \| n\/a \| 150 MiB\/s \| n\/a \| \*\*2\.0×\*\* \|/);
    assert.match(md, /every row FastTrackML supports ≥ 1\.5× FastTrackML \(SQLite\) \(16\) \| all 1 rows \| reached \|/);
    assert.match(md, /idle memory within 1\.5× FastTrackML's \(SQLite\) \(16\) \| 120 MiB vs 40\.0 MiB \(3×\) \| \*\*missed\*\* \|/);
    // Issue 14's bars: idle ≤ 64 MiB and peak ≤ 200 MiB (200 is on the bar, so reached).
    assert.match(md, /\| idle memory ≤ 64 MiB \(SQLite\) \(14\) \| 120 MiB \(FastTrackML 40\.0 MiB, MLflow 2,000 MiB\) \| \*\*missed\*\* \|/);
    assert.match(md, /\| peak memory during a round ≤ 200 MiB \(SQLite\) \(14\) \| 200 MiB \| reached \|/);
    assert.match(md, /\| get-run ≥ 5× MLflow \(SQLite\) \(6\) \| 20× \| reached \|/);
    assert.match(md, /^## Reduced run \(`--quick`\)/m, 'a quick run says it is reduced');
  });

  it('reads results written before FastTrackML took part', () => {
    const old = results();
    const sqlite = old.backends.sqlite!;
    delete sqlite.values.fasttrackml;
    delete sqlite.raw.fasttrackml;
    const md = renderReport(old);
    assert.match(md, /\| workload \| SQLite: Trove vs MLflow \|\n/);
    assert.doesNotMatch(md, /FastTrackML \|/);
  });
});

describe('what the report says about the load and the seeding', () => {
  const at = (phase: string, l1: number) => ({ at: '', phase, avg: [l1, l1, l1] });

  it('says a run on an otherwise quiet machine was quiet, with the load before, after and during it', () => {
    const r = { ...results(), load: [at('start', 0.4), at('sample', 1.8), at('sample', 2.2), at('sample', 2.6), at('end', 1.9)] };
    const text = loadText(loadSummary(r));
    assert.equal(text, 'before the run 0.40, after it 1.90; during it median 1.90 (min 0.40, max 2.60, sampled every 30 s) on 2 cores — nothing else of note ran: the load is the benchmark\'s own (the server under test and the load generator)');
    const md = renderReport(r);
    assert.doesNotMatch(md, /shared with other/);
    assert.match(md, /\| load average \(1 min\) \| before the run 0\.40/);
  });

  it('says the cores were shared when the load before the run or during it is more than the benchmark makes', () => {
    const busyBefore = loadSummary({ ...results(), load: [at('start', 3.1), at('sample', 2.0), at('end', 2.0)] });
    assert.ok(busyBefore.shared);
    assert.match(loadText(busyBefore), /\*\*other work shared the cores\*\*/);
    const busyDuring = loadSummary({ ...results(), load: [at('start', 0.2), at('sample', 9), at('sample', 12), at('end', 8)] });
    assert.ok(busyDuring.shared);
    assert.match(renderReport({ ...results(), load: [at('start', 0.2), at('sample', 9), at('sample', 12), at('end', 8)] }), /other work shared the cores/);
  });

  it('says which runs and points the seeding rates come from and how the rest reached each server', () => {
    const r = results();
    const sqlite = r.backends.sqlite!;
    sqlite.values.trove!['seed-runs.per_s'] = [500];
    sqlite.seeding.trove = { runs: 1000, runSeconds: 2, points: 50_000, pointSeconds: 1, peakMiB: 100, restRuns: 1000, restPoints: 50_000, rest: 'api', restSeconds: 3.2 };
    sqlite.seeding.mlflow = { runs: 1000, runSeconds: 25, points: 50_000, pointSeconds: 5, peakMiB: 900, restRuns: 1000, restPoints: 50_000, rest: 'bulk', restSeconds: 0.8 };
    const text = seedingText(r).join('\n');
    assert.match(text, /the first 1,000 runs and the first 50,000 points of the long series went through every server's REST API/);
    assert.match(text, /the other 1,000 runs and 50,000 points, the same data, followed through the API to Trove and were bulk-loaded straight into MLflow's own database/);
    assert.match(text, /Trove API 3\.20 s \(SQLite\), MLflow bulk 0\.80 s \(SQLite\)/);
    assert.match(renderReport(r), /\| seeding: runs created \+ logged, the first 1,000 runs \(8 clients\) \|/);
    assert.doesNotMatch(text, /consecutive windows/, 'one rate per server: no windows to speak of');
    sqlite.values.trove!['seed-runs.per_s'] = [480, 500, 520, 510, 300];
    assert.match(seedingText(r).join('\n'), /measured on them \(each the median rate over 5 consecutive windows of the sample, min–max in small print\)/);
    assert.match(renderReport(r), /\| seeding: runs created \+ logged, the first 1,000 runs \(8 clients\) \| 500 runs\/s <sub>\(300–520\)<\/sub> \|/);
  });

  it('says everything went through the API for results written before the split', () => {
    const r = results();
    r.backends.sqlite!.values.trove!['seed-runs.per_s'] = [500];
    const old = { ...r, config: { ...r.config, seedSampleRuns: undefined, seedSamplePoints: undefined } as unknown as Results['config'] };
    assert.match(seedingText(old).join(''), /everything through each server's REST API/);
    assert.match(renderReport(old), /\| seeding: runs created \+ logged \(8 clients\) \|/);
  });
});

describe('the generated block of docs/benchmarks.md', () => {
  const { start, end } = reportMarkers('standard');
  const quick = reportMarkers('quick');

  it('replaces only its own block and keeps the hand-written sections around it', () => {
    const doc = `# Benchmarks\n\nintro by hand\n\n${start}\nold numbers\n${end}\n\n## Notes by hand\n\nkept\n\n${quick.start}\nreduced\n${quick.end}\n`;
    const next = withReportBlock(doc, 'standard', '## Server benchmark\nnew numbers\n');
    assert.equal(next, `# Benchmarks\n\nintro by hand\n\n${start}\n## Server benchmark\nnew numbers\n${end}\n\n## Notes by hand\n\nkept\n\n${quick.start}\nreduced\n${quick.end}\n`);
    const reduced = withReportBlock(next, 'quick', 'fresh reduced');
    assert.ok(reduced.includes(`${quick.start}\nfresh reduced\n${quick.end}`));
    assert.ok(reduced.includes('new numbers') && reduced.includes('## Notes by hand'));
  });

  it('is added before the web UI block of a page that has none, and a missing page gets a title', () => {
    const doc = '# Benchmarks\n\nby hand\n\n<!-- bench:ui start -->\nui\n<!-- bench:ui end -->\n';
    assert.equal(withReportBlock(doc, 'quick', 'x'), `# Benchmarks\n\nby hand\n\n${quick.start}\nx\n${quick.end}\n\n<!-- bench:ui start -->\nui\n<!-- bench:ui end -->\n`);
    assert.equal(withReportBlock(undefined, 'standard', 'x'), `# Benchmarks\n\n${start}\nx\n${end}\n`);
  });
});

describe('FastTrackML database URIs', () => {
  it('spell an absolute SQLite path with three slashes and PostgreSQL as postgres://', () => {
    assert.equal(fasttrackmlDatabaseUri('sqlite:////tmp/x/f.db'), 'sqlite:///tmp/x/f.db');
    assert.equal(fasttrackmlDatabaseUri('postgresql://u:p@127.0.0.1:5432/bench_fasttrackml'), 'postgres://u:p@127.0.0.1:5432/bench_fasttrackml');
  });
});
