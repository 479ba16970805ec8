import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { getJson, postJson, startTroveProcess } from '../support/trove-process.ts';

const BATCH = 500;
const CRASHES = 3;

/**
 * kill -9 during ingest, three times: every log-batch the server acknowledged (HTTP 200) is there
 * after each restart. Batches in flight when the process died may or may not be; none may be torn.
 */
test('no acknowledged metric point is lost over three kill -9 crashes during ingest', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-kill-'));
  const args = ['--backend-store-uri', `sqlite:///${path.join(dataDir, 'trove.db')}`, '--artifacts-destination', path.join(dataDir, 'artifacts')];
  let server = await startTroveProcess(args);
  try {
    const run = await postJson(server.url, 'runs/create', { experiment_id: '0' });
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    const acknowledged = new Set<number>();
    let next = 0;
    for (let crash = 0; crash < CRASHES; crash++) {
      const target = server;
      const writers = Array.from({ length: 4 }, async () => {
        for (;;) {
          const first = next;
          next += BATCH;
          const metrics = Array.from({ length: BATCH }, (_, i) => ({ key: 'loss', value: first + i, timestamp: 1, step: first + i }));
          try {
            const res = await postJson(target.url, 'runs/log-batch', { run_id: runId, metrics });
            if (res.status !== 200) return;
            acknowledged.add(first);
          } catch {
            return; // the connection died with the process
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      target.process.kill('SIGKILL');
      await Promise.all(writers);
      if (target.process.exitCode === null && target.process.signalCode === null) await once(target.process, 'exit');
      server = await startTroveProcess(args);
      const history = await getJson(server.url, 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: '10000000' });
      const steps = new Set((history.body.metrics as { step: number }[] | undefined ?? []).map((m) => m.step));
      let lost = 0;
      for (const first of acknowledged) for (let i = 0; i < BATCH; i++) if (!steps.has(first + i)) lost += 1;
      assert.equal(lost, 0, `crash ${crash + 1}: ${lost} acknowledged points lost`);
      // No torn batch: every batch is either complete or absent.
      for (let first = 0; first < next; first += BATCH) {
        let present = 0;
        for (let i = 0; i < BATCH; i++) if (steps.has(first + i)) present += 1;
        assert.ok(present === 0 || present === BATCH, `batch ${first} is torn (${present}/${BATCH})`);
      }
    }
    assert.ok(acknowledged.size >= CRASHES, 'ingest made progress before each crash');
    console.log(`# ${acknowledged.size * BATCH} acknowledged points, 0 lost over ${CRASHES} kill -9`);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
