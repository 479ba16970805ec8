import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getJson, startTroveProcess, type TroveProcess } from '../support/trove-process.ts';

/** Functions V8's optimizing compiler finished so far, as `--trace-opt` reports them. */
function optimized(server: TroveProcess): string[] {
  return server.output().split('\n').filter((line) => line.includes('completed optimizing'));
}

/**
 * bin/trove.js raises V8's interrupt budget until the server has had 100 requests (docs/memory.md,
 * "Idle: the optimizing compiler held back"): start-up code and a few requests stay interpreted, so
 * the optimizing compiler's code and memory are not brought in by a server that is merely running;
 * code that a real load makes hot is still optimized.
 */
// Runs the compiled server (dist/ built and current, as CI runs it); under tsx the TypeScript
// loader's own work would make Node's path functions hot.
describe('when the server optimizes its code', () => {
  let dir: string;
  let server: TroveProcess;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-tier-up-'));
    server = await startTroveProcess(['--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`], {}, 30_000, ['--trace-opt']);
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts and answers ten requests without optimizing any function', async () => {
    for (let i = 0; i < 10; i++) {
      const found = await getJson(server.url, 'experiments/get-by-name', { experiment_name: 'Default' });
      assert.equal(found.status, 200);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(optimized(server), []);
  });

  it('optimizes the request path once a load makes it hot', async () => {
    for (let i = 0; i < 3000 && optimized(server).length === 0; i++) {
      await getJson(server.url, 'experiments/get-by-name', { experiment_name: 'Default' });
    }
    assert.ok(optimized(server).length > 0, 'some function optimized after up to 3,000 requests');
  });
});
