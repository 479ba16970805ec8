import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postJson, startTroveProcess, type TroveProcess } from '../support/trove-process.ts';

/** The new space's size from /metrics (prom-client's heap space gauges). */
async function newSpaceBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^trove_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
  assert.ok(match, 'the new space gauge in /metrics');
  return Number(match[1]);
}

/**
 * bin/trove.js keeps V8's young generation at its initial size (docs/memory.md), however it is
 * started: the flag that bounds it, --max-semi-space-size, is given here at 16 MiB, as a caller
 * might, and the allocation of a burst of log-batch requests still leaves it at 2 × 1 MiB.
 */
// Runs the compiled server (dist/ built and current, as CI runs it): under the TypeScript sources
// (tsx) the flag is not effective.
describe('the young generation of the server', () => {
  let dir: string;
  let server: TroveProcess;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-young-'));
    server = await startTroveProcess(['--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`], {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=16`,
    });
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stays at its initial 1 MiB semi-spaces under a burst of ingest', async () => {
    const experiment = await postJson(server.url, 'experiments/create', { name: 'young' });
    const run = await postJson(server.url, 'runs/create', { experiment_id: experiment.body.experiment_id, start_time: 0 });
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    for (let batch = 0; batch < 40; batch++) {
      const metrics = Array.from({ length: 1000 }, (_, k) => ({ key: `m${k % 10}`, value: k, timestamp: 1, step: batch * 100 + Math.floor(k / 10) }));
      const logged = await postJson(server.url, 'runs/log-batch', { run_id: runId, metrics });
      assert.equal(logged.status, 200);
    }
    assert.ok((await newSpaceBytes(server.url)) <= 2 * 1024 * 1024, 'new space at most two 1 MiB semi-spaces');
  });
});
