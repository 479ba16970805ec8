import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function freePort(): Promise<number> {
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

/**
 * Starts `trove server` on a free port with a fresh SQLite file and artifact folder, fills it with
 * the real MLflow client (e2e/fixture.py), and hands the URL and the fixture's ids to the specs
 * through environment variables. Returns the teardown.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build:web` first');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'trove.js'), 'server', '--port', String(port), '--backend-store-uri', `sqlite:///${path.join(dataDir, 'trove.db')}`, '--artifacts-destination', path.join(dataDir, 'artifacts'), '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForHealth(url, server, 30_000);

  const python = process.env.TROVE_E2E_PYTHON ?? path.join(ROOT, '.venvs', 'mlflow3', 'bin', 'python');
  const idsFile = path.join(dataDir, 'ids.json');
  const fill = spawnSync(python, [path.join(ROOT, 'e2e', 'fixture.py'), idsFile], {
    cwd: ROOT,
    env: { ...process.env, MLFLOW_TRACKING_URI: url, PYTHONWARNINGS: 'ignore', GIT_PYTHON_REFRESH: 'quiet' },
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (fill.status !== 0) {
    server.kill('SIGTERM');
    throw new Error(`e2e/fixture.py failed (${fill.status}):\n${fill.stdout}\n${fill.stderr}`);
  }
  process.env.TROVE_E2E_URL = url;
  process.env.TROVE_E2E_IDS = fs.readFileSync(idsFile, 'utf8');
  fs.mkdirSync(path.join(ROOT, 'e2e', 'output', 'screenshots'), { recursive: true });

  return async () => {
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
