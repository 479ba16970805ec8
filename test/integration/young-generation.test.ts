import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IN_USE_REQUESTS } from '../../src/cli/server.command.ts';
import { postJson, startTroveProcess, type TroveProcess } from '../support/trove-process.ts';

const MiB = 1024 * 1024;

/** The new space's size from /metrics (prom-client's heap space gauges). */
async function newSpaceBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^trove_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
  assert.ok(match, 'the new space gauge in /metrics');
  return Number(match[1]);
}

/** Logs `batches` batches of 1,000 points into a new run: allocation enough to fill a young generation many times. */
async function ingest(url: string, batches: number): Promise<void> {
  const experiment = await postJson(url, 'experiments/create', { name: `young-${batches}-${Date.now()}` });
  const run = await postJson(url, 'runs/create', { experiment_id: experiment.body.experiment_id, start_time: 0 });
  const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
  for (let batch = 0; batch < batches; batch++) {
    const metrics = Array.from({ length: 1000 }, (_, k) => ({ key: `m${k % 10}`, value: k, timestamp: 1, step: batch * 100 + Math.floor(k / 10) }));
    const logged = await postJson(url, 'runs/log-batch', { run_id: runId, metrics });
    assert.equal(logged.status, 200);
  }
}

async function startServer(dir: string, nodeArgs: string[]): Promise<TroveProcess> {
  fs.mkdirSync(dir, { recursive: true });
  return startTroveProcess(['--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`], {}, 30_000, nodeArgs);
}

/**
 * bin/trove.js keeps V8's young generation at its initial 1 MiB semi-spaces while the server is
 * idle or barely used, and lets it grow once the server is in use only up to a bound given on the
 * command line (docs/memory.md). Runs the compiled server (dist/ built and current, as CI runs
 * it): under the TypeScript sources (tsx) the flags are not effective.
 */
describe('the young generation of the server', () => {
  let dir: string;
  const servers: TroveProcess[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-young-'));
  });

  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stays at its initial 1 MiB semi-spaces under a burst of ingest before the server is in use', async () => {
    const server = await startServer(path.join(dir, 'early'), ['--max-semi-space-size=2']);
    servers.push(server);
    await ingest(server.url, 40);
    assert.ok((await newSpaceBytes(server.url)) <= 2 * MiB, 'new space at most two 1 MiB semi-spaces');
  });

  it('grows up to the bound given on the command line once the server is in use', async () => {
    const server = await startServer(path.join(dir, 'bounded'), ['--max-semi-space-size=2']);
    servers.push(server);
    await ingest(server.url, IN_USE_REQUESTS + 200);
    const size = await newSpaceBytes(server.url);
    assert.ok(size > 2 * MiB, `new space grown past two 1 MiB semi-spaces (${size} bytes)`);
    assert.ok(size <= 2 * 2 * MiB, `new space at most two 2 MiB semi-spaces (${size} bytes)`);
  });

  it('stays at 1 MiB semi-spaces in use when no bound was given to node', async () => {
    const server = await startServer(path.join(dir, 'unbounded'), []);
    servers.push(server);
    await ingest(server.url, IN_USE_REQUESTS + 200);
    assert.ok((await newSpaceBytes(server.url)) <= 2 * MiB, 'new space at most two 1 MiB semi-spaces');
  });
});
