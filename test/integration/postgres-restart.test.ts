import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { createServer, type RunningServices } from '../../src/server.ts';
import { adminQuery, POSTGRES_SKIP_MESSAGE, testPostgresUri } from '../support/postgres.ts';
import { closedPort } from '../support/ports.ts';

/**
 * A PostgreSQL restart and dropped connections under load: the requests that hit the outage fail
 * with MLflow's retryable 503 TEMPORARILY_UNAVAILABLE, the server recovers by itself, and every
 * acknowledged write is there afterwards. The test runs its own throwaway cluster (on a free port),
 * so stopping it never disturbs the other suites.
 */

const execFileAsync = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLUSTER_DIR = path.join(os.tmpdir(), `trove-postgres-fault-${process.pid}`);
let clusterEnv: NodeJS.ProcessEnv = {};

async function startCluster(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [path.join(REPO_ROOT, 'scripts', 'start-postgres.sh')], { env: clusterEnv });
  return stdout.trim();
}

async function stopCluster(...args: string[]): Promise<void> {
  await execFileAsync('bash', [path.join(REPO_ROOT, 'scripts', 'stop-postgres.sh'), ...args], { env: clusterEnv });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Clients that keep logging points with fresh steps into one run until told to stop. */
class MetricLoad {
  readonly acknowledged = new Set<number>();
  readonly unavailable: number[] = [];
  readonly unexpected: string[] = [];
  private nextStep = 0;
  private running = true;
  private readonly clients: Promise<void>[];

  constructor(
    private readonly server: RunningServices,
    private readonly runId: string,
    clients: number,
  ) {
    this.clients = Array.from({ length: clients }, () => this.client());
  }

  private async client(): Promise<void> {
    while (this.running) {
      const step = this.nextStep++;
      const response = await this.server.app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/runs/log-batch',
        payload: { run_id: this.runId, metrics: [{ key: 'loss', value: step, timestamp: Date.now(), step }] },
      });
      if (response.statusCode === 200) {
        this.acknowledged.add(step);
      } else if (response.statusCode === 503 && (JSON.parse(response.body) as { error_code?: string }).error_code === 'TEMPORARILY_UNAVAILABLE') {
        this.unavailable.push(step);
        await sleep(20);
      } else {
        this.unexpected.push(`${response.statusCode} ${response.body}`);
      }
    }
  }

  /** Resolves once `count` more writes have been acknowledged (the server is serving again). */
  async waitForAcknowledged(count: number, timeoutMs: number): Promise<void> {
    const target = this.acknowledged.size + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledged.size < target) {
      if (Date.now() > deadline) throw new Error(`only ${this.acknowledged.size} of ${target} writes acknowledged in time`);
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
  }
}

describe('PostgreSQL outages under load', { skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false }, () => {
  let uri: string;
  let server: RunningServices;
  let dataDir: string;

  before(async () => {
    // A port of its own, found free now: a fixed one may be taken by another cluster on this machine.
    clusterEnv = { ...process.env, TROVE_PG_PORT: String(await closedPort()), TROVE_PG_DIR: CLUSTER_DIR };
    uri = await startCluster();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-fault-'));
    server = await createServer({
      backendStoreUri: uri,
      artifactsDestination: path.join(dataDir, 'artifacts'),
      defaultArtifactRoot: 'mlflow-artifacts:/',
    });
  });

  after(async () => {
    await server?.close();
    await stopCluster('--purge');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function newRun(): Promise<string> {
    const experiment = await server.app.inject({ method: 'POST', url: '/api/2.0/mlflow/experiments/create', payload: { name: `fault-${Date.now()}` } });
    const experimentId = (JSON.parse(experiment.body) as { experiment_id: string }).experiment_id;
    const run = await server.app.inject({ method: 'POST', url: '/api/2.0/mlflow/runs/create', payload: { experiment_id: experimentId } });
    return (JSON.parse(run.body) as { run: { info: { run_id: string } } }).run.info.run_id;
  }

  async function storedSteps(runId: string): Promise<Set<number>> {
    const response = await server.app.inject({
      method: 'GET',
      url: '/api/2.0/mlflow/metrics/get-history',
      query: { run_id: runId, metric_key: 'loss', max_results: '25000' },
    });
    assert.equal(response.statusCode, 200, response.body);
    return new Set((JSON.parse(response.body) as { metrics: Array<{ step: number }> }).metrics.map((m) => m.step));
  }

  test('a database restart fails requests with a retryable 503 only while it is down, and no acknowledged write is lost', async () => {
    const runId = await newRun();
    const load = new MetricLoad(server, runId, 6);
    await load.waitForAcknowledged(50, 10_000);

    await stopCluster();
    await sleep(1_000);
    const failedWhileDown = load.unavailable.length;
    await startCluster();
    // Served again without any restart of the server.
    await load.waitForAcknowledged(50, 20_000);
    await load.stop();

    assert.deepEqual(load.unexpected, []);
    assert.ok(failedWhileDown > 0, 'requests during the outage should have failed with 503');
    const stored = await storedSteps(runId);
    for (const step of load.acknowledged) assert.ok(stored.has(step), `acknowledged step ${step} is missing`);
  });

  test('connections dropped by the database fail only the requests on them, and the pool reconnects', async () => {
    const runId = await newRun();
    const load = new MetricLoad(server, runId, 6);
    await load.waitForAcknowledged(30, 10_000);
    for (let round = 0; round < 3; round += 1) {
      await adminQuery(uri, "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'trove' and pid <> pg_backend_pid()");
      await load.waitForAcknowledged(20, 10_000);
    }
    await load.stop();

    assert.deepEqual(load.unexpected, []);
    const stored = await storedSteps(runId);
    for (const step of load.acknowledged) assert.ok(stored.has(step), `acknowledged step ${step} is missing`);
  });
});
