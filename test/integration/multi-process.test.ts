import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri, type TestDatabase } from '../support/postgres.ts';
import { s3Env, testS3, uniquePrefix } from '../support/s3.ts';
import { getJson, postJson, startTroveProcess, type TroveProcess } from '../support/trove-process.ts';

/**
 * Several server processes over one database and one artifact store: `trove server --workers N`
 * and separate `trove server` processes. Each test starts real processes on a fresh database.
 */

interface RunLoad {
  runIds: string[];
  /** Every acknowledged step per run. */
  acknowledged: Map<string, Set<number>>;
  failures: string[];
}

async function createRuns(url: string, count: number): Promise<string[]> {
  const experiment = await postJson(url, 'experiments/create', { name: `load-${randomBytes(4).toString('hex')}` });
  assert.equal(experiment.status, 200, JSON.stringify(experiment.body));
  const runIds: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const run = await postJson(url, 'runs/create', { experiment_id: experiment.body.experiment_id, start_time: Date.now() });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    runIds.push((run.body.run as { info: { run_id: string } }).info.run_id);
  }
  return runIds;
}

/**
 * `clients` concurrent clients, each sending `requests` log-batch calls of 10 metrics (new keys
 * appear on the way, so metric-key creation races too) into the runs, round-robin.
 */
async function logConcurrently(url: string, runIds: string[], clients: number, requests: number): Promise<RunLoad> {
  const acknowledged = new Map(runIds.map((id) => [id, new Set<number>()]));
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; i < requests; i += 1) {
        const runId = runIds[(client + i) % runIds.length] as string;
        const step = client * requests + i;
        const metrics = [
          { key: 'loss', value: step, timestamp: Date.now(), step },
          ...Array.from({ length: 9 }, (_, k) => ({ key: `m${k}-${i % 3}`, value: step + k / 10, timestamp: Date.now(), step })),
        ];
        const response = await postJson(url, 'runs/log-batch', { run_id: runId, metrics });
        if (response.status === 200) acknowledged.get(runId)?.add(step);
        else failures.push(`${response.status} ${JSON.stringify(response.body)}`);
      }
    }),
  );
  return { runIds, acknowledged, failures };
}

/** Every acknowledged step is in the history of `loss`, which every batch wrote. */
async function assertNothingLost(url: string, load: RunLoad): Promise<void> {
  for (const runId of load.runIds) {
    const history = await getJson(url, 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: '25000' });
    assert.equal(history.status, 200);
    const steps = new Set(((history.body.metrics ?? []) as Array<{ step: number }>).map((metric) => metric.step));
    for (const step of load.acknowledged.get(runId) ?? []) assert.ok(steps.has(step), `step ${step} of run ${runId} was acknowledged but is missing`);
  }
}

describe('trove server --workers on one SQLite file', () => {
  let dir: string;
  let server: TroveProcess;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-workers-'));
    server = await startTroveProcess([
      '--workers', '2',
      '--backend-store-uri', `sqlite:///${path.join(dir, 'trove.db')}`,
      '--artifacts-destination', path.join(dir, 'artifacts'),
    ]);
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('concurrent writers through two processes never see "database is locked" and lose nothing', async () => {
    const runIds = await createRuns(server.url, 4);
    const load = await logConcurrently(server.url, runIds, 24, 15);
    assert.deepEqual(load.failures, []);
    await assertNothingLost(server.url, load);
    assert.doesNotMatch(server.output(), /database is locked|SQLITE_BUSY/);
  });

  test('64 concurrent writers get no error and lose no acknowledged point', async () => {
    const runIds = await createRuns(server.url, 8);
    const load = await logConcurrently(server.url, runIds, 64, 8);
    assert.deepEqual(load.failures, []);
    await assertNothingLost(server.url, load);
    assert.equal([...load.acknowledged.values()].reduce((n, steps) => n + steps.size, 0), 64 * 8);
  });
});

describe('trove server --workers when a worker cannot start', () => {
  test('workers that fail at start-up exit, and their primary stops with code 1 after repeated crashes instead of hanging', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-workers-broken-'));
    try {
      // A key file too short to be a key: every worker refuses to start (the primary never reads it).
      fs.writeFileSync(path.join(dir, 'webhook-secret.key'), 'abc\n', { mode: 0o600 });
      await assert.rejects(
        startTroveProcess(['--workers', '2', '--backend-store-uri', `sqlite:///${path.join(dir, 'trove.db')}`, '--artifacts-destination', path.join(dir, 'artifacts')]),
        /exited with code 1 before starting[\s\S]*too short[\s\S]*worker processes died/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('several server processes over one PostgreSQL database', { skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false }, () => {
  let database: TestDatabase;
  let dir: string;
  let first: TroveProcess;
  let second: TroveProcess;

  before(async () => {
    database = await createTestDatabase(testPostgresUri() as string, 'trove_multi');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-multi-'));
    // One artifact store for all: the Swift bucket when it runs, else one shared folder.
    const s3 = testS3();
    const destination = s3 ? `s3://${s3.bucket}/${uniquePrefix('multi')}` : path.join(dir, 'artifacts');
    const env = s3 ? s3Env(s3) : {};
    const args = ['--backend-store-uri', database.uri, '--artifacts-destination', destination];
    // The first process migrates the fresh database; the second, with two workers of its own,
    // starts on the migrated schema. Three processes serve in all.
    first = await startTroveProcess(args, env);
    second = await startTroveProcess([...args, '--workers', '2'], env);
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the startup banner shows the database without its password', () => {
    const password = new URL(database.uri).password;
    assert.match(first.output(), /Database:\s+postgresql:\/\/[^:\s]+:\*\*\*@/);
    for (const output of [first.output(), second.output()]) assert.ok(!output.includes(`:${password}@`));
  });

  test('a run written through one process is read back through another', async () => {
    const [runId] = await createRuns(first.url, 1);
    const logged = await postJson(second.url, 'runs/log-batch', {
      run_id: runId,
      params: [{ key: 'lr', value: '0.1' }],
      metrics: [{ key: 'loss', value: 0.5, timestamp: 1, step: 1 }],
      tags: [{ key: 'team', value: 'vision' }],
    });
    assert.equal(logged.status, 200, JSON.stringify(logged.body));
    const run = await getJson(first.url, 'runs/get', { run_id: runId as string });
    const data = (run.body.run as { data: { params: unknown[]; metrics: Array<{ key: string; value: number }> } }).data;
    assert.deepEqual(data.params, [{ key: 'lr', value: '0.1' }]);
    assert.deepEqual(data.metrics.map((m) => [m.key, m.value]), [['loss', 0.5]]);
  });

  test('a registry event produced by one process reaches an event-stream client of another', async () => {
    const name = `multi-${randomBytes(4).toString('hex')}`;
    const abort = new AbortController();
    const response = await fetch(`${second.url}/api/2.0/trove/registry/events?name=${name}`, { signal: abort.signal });
    assert.equal(response.status, 200);
    assert.ok(response.body);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let received = '';
    // The stream is open (its first comment arrived) before the change is made.
    while (!received.includes('\n\n')) received += decoder.decode((await reader.read()).value ?? new Uint8Array(), { stream: true });
    const created = await postJson(first.url, 'registered-models/create', { name });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const deadline = Date.now() + 15_000;
    while (!/^data:.*$/m.test(received.split('\n\n').slice(1).join('\n\n')) && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<undefined>((resolve) => setTimeout(resolve, 1000))]);
      if (chunk?.value) received += decoder.decode(chunk.value, { stream: true });
    }
    abort.abort();
    assert.match(received, new RegExp(`^data: .*${name}`, 'm'));
  });

  test('an artifact uploaded through one process downloads through another, multipart uploads included', async () => {
    const [runId] = await createRuns(first.url, 1);
    const base = `${first.url}/api/2.0/mlflow-artifacts/artifacts/1/${runId}/artifacts`;
    const put = await fetch(`${base}/notes.txt`, { method: 'PUT', body: 'hello from the first process' });
    assert.equal(put.status, 200);
    const got = await fetch(`${second.url}/api/2.0/mlflow-artifacts/artifacts/1/${runId}/artifacts/notes.txt`);
    assert.equal(await got.text(), 'hello from the first process');

    // Create through one process, send the part and complete through the others.
    const created = await fetch(`${first.url}/api/2.0/mlflow-artifacts/mpu/create/1/${runId}/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'big.bin', num_parts: 1 }),
    });
    const { upload_id: uploadId } = (await created.json()) as { upload_id: string };
    const part = await fetch(
      `${second.url}/api/2.0/mlflow-artifacts/mpu/upload-part/1/${runId}/artifacts/big.bin?upload_id=${encodeURIComponent(uploadId)}&part_number=1`,
      { method: 'PUT', body: 'one part' },
    );
    assert.equal(part.status, 200, await part.clone().text());
    const completed = await fetch(`${second.url}/api/2.0/mlflow-artifacts/mpu/complete/1/${runId}/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'big.bin', upload_id: uploadId, parts: [{ part_number: 1, etag: part.headers.get('etag') ?? '' }] }),
    });
    assert.equal(completed.status, 200, await completed.text());
    const joined = await fetch(`${second.url}/api/2.0/mlflow-artifacts/artifacts/1/${runId}/artifacts/big.bin`);
    assert.equal(await joined.text(), 'one part');
  });

  test('concurrent writers through two worker processes lose nothing and keep the newest point as latest', async () => {
    const runIds = await createRuns(first.url, 3);
    const load = await logConcurrently(second.url, runIds, 24, 15);
    assert.deepEqual(load.failures, []);
    await assertNothingLost(first.url, load);
    for (const runId of runIds) {
      const run = await getJson(first.url, 'runs/get', { run_id: runId });
      const metrics = (run.body.run as { data: { metrics: Array<{ key: string; step: number }> } }).data.metrics;
      const loss = metrics.find((metric) => metric.key === 'loss');
      assert.equal(loss?.step, Math.max(...(load.acknowledged.get(runId) ?? [])));
    }
  });

  test('64 concurrent writers spread over three processes get no error and lose no acknowledged point', async () => {
    const runIds = await createRuns(first.url, 8);
    const urls = [first.url, second.url];
    const loads = await Promise.all(urls.map((url) => logConcurrently(url, runIds, 32, 8)));
    for (const load of loads) {
      assert.deepEqual(load.failures, []);
      await assertNothingLost(first.url, load);
    }
  });
});
