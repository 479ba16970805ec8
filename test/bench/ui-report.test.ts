import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carryUiSection, renderUiSection, UI_SECTION_END, UI_SECTION_START, withUiSection } from '../../bench/ui-report.ts';

const trace = { label: 'Trace page, 1,000 spans', goal: '< 1000 ms', median: '772 ms', loads: '731, 838, 772' };
const table = { label: 'Experiment page, 10,000 runs', goal: '< 1500 ms', median: '660 ms', loads: '730, 640, 660' };

describe('the web UI section of docs/benchmarks.md', () => {
  it('is appended to a page that has none, between its markers', () => {
    const doc = withUiSection('# Benchmarks\n\nserver numbers\n', renderUiSection(undefined, [trace], 'run 1'));
    assert.match(doc, /^# Benchmarks\n\nserver numbers\n\n<!-- bench:ui start -->\n## Web UI/);
    assert.ok(doc.includes('| Trace page, 1,000 spans | < 1000 ms | 772 ms | 731, 838, 772 |'));
    assert.ok(doc.trimEnd().endsWith(UI_SECTION_END));
  });

  it('keeps rows this run did not measure and replaces the ones it did', () => {
    const first = withUiSection('# B\n', renderUiSection(undefined, [table, trace], 'run 1'));
    const second = withUiSection(first, renderUiSection(first, [{ ...trace, median: '700 ms' }], 'run 2'));
    assert.equal(second.split(UI_SECTION_START).length, 2, 'one section');
    assert.ok(second.includes('| Trace page, 1,000 spans | < 1000 ms | 700 ms |'));
    assert.ok(!second.includes('772 ms |'));
    assert.ok(second.includes('| Experiment page, 10,000 runs | < 1500 ms | 660 ms |'));
    assert.ok(second.includes('run 2') && !second.includes('run 1'));
  });

  it('survives the server benchmark rewriting the rest of the page', () => {
    const old = withUiSection('# B\nold numbers\n', renderUiSection(undefined, [trace], 'run 1'));
    const fresh = carryUiSection(old, '# B\nnew numbers\n');
    assert.ok(fresh.includes('new numbers') && !fresh.includes('old numbers'));
    assert.ok(fresh.includes('772 ms'));
    assert.equal(carryUiSection(undefined, '# B\n'), '# B\n');
  });
});
