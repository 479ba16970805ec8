import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TROVE_BIN = path.join(ROOT, 'bin', 'trove.js');

/** Ids written by e2e/fixture.py. */
export interface FixtureIds {
  experiment_id: string;
  experiment_name: string;
  parent_run_id: string;
  model_run_id: string;
  child_run_ids: string[];
  model_name: string;
  first_version: string;
  candidate_run_id: string;
  live_run_id: string;
}

export function ids(): FixtureIds {
  const raw = process.env.TROVE_E2E_IDS;
  if (!raw) throw new Error('TROVE_E2E_IDS is not set: run through e2e/playwright.config.ts');
  return JSON.parse(raw) as FixtureIds;
}

export function serverUrl(): string {
  const url = process.env.TROVE_E2E_URL;
  if (!url) throw new Error('TROVE_E2E_URL is not set');
  return url;
}

const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'output', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Calls the MLflow REST API directly (the same wire calls the client makes). */
export async function mlflowPost(pathName: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${serverUrl()}/api/2.0/mlflow/${pathName}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${pathName}: ${res.status} ${await res.text()}`);
  return res.json();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHealth(url: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`trove server exited with code ${server.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`trove server did not answer ${url}/health within ${timeoutMs} ms`);
}

export interface TroveServer {
  url: string;
  /** A fresh folder holding the database and the artifacts. */
  dataDir: string;
  /** For `trove user|project|member|token` commands against the same database. */
  backendStoreUri: string;
  stop(): Promise<void>;
}

/** Starts `trove server` on a free port with a fresh SQLite file and artifact folder (`--auth` when asked). */
export async function startTroveServer(options: { auth?: boolean } = {}): Promise<TroveServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const backendStoreUri = `sqlite:///${path.join(dataDir, 'trove.db')}`;
  const args = [TROVE_BIN, 'server', '--port', String(port), '--backend-store-uri', backendStoreUri, '--artifacts-destination', path.join(dataDir, 'artifacts'), '--log-level', 'warn'];
  if (options.auth) args.push('--auth');
  // With --auth the first start prints the generated admin password: keep stdout out of the test log.
  // The webhook page test sends to a receiver on 127.0.0.1 over http, which MLflow's defaults refuse.
  const env = { ...process.env, MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https', MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: 'true' };
  const server = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitForHealth(url, server, 30_000);
  } catch (error) {
    server.kill('SIGTERM');
    throw error;
  }
  return {
    url,
    dataDir,
    backendStoreUri,
    async stop() {
      server.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs a `trove` CLI command against a server's database; returns its stdout (throws on failure). */
export function troveCli(server: TroveServer, args: string[], input?: string): string {
  const result = spawnSync(process.execPath, [TROVE_BIN, ...args, '--backend-store-uri', server.backendStoreUri], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`trove ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The MLflow 3 venv's python (scripts/test-e2e.sh builds it). */
export function python(): string {
  return process.env.TROVE_E2E_PYTHON ?? path.join(ROOT, '.venvs', 'mlflow3', 'bin', 'python');
}

/** Runs a fixture script with the real MLflow client against `env`'s tracking URI; returns the ids it writes as JSON. */
export function runFixture<T>(script: string, env: Record<string, string>, timeoutMs = 180_000): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-e2e-ids-'));
  const idsFile = path.join(dir, 'ids.json');
  try {
    const fill = spawnSync(python(), [path.join(ROOT, 'e2e', script), idsFile], {
      cwd: ROOT,
      env: { ...process.env, PYTHONWARNINGS: 'ignore', GIT_PYTHON_REFRESH: 'quiet', ...env },
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    if (fill.status !== 0) throw new Error(`e2e/${script} failed (${fill.status}):\n${fill.stdout}\n${fill.stderr}`);
    return JSON.parse(fs.readFileSync(idsFile, 'utf8')) as T;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
