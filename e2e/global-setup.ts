import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runFixture, startTroveServer } from './support.ts';

/**
 * Starts `trove server` on a free port with a fresh SQLite file and artifact folder, fills it with
 * the real MLflow client (e2e/fixture.py), and hands the URL and the fixture's ids to the specs
 * through environment variables. Returns the teardown. (auth.spec.ts starts its own server with
 * `--auth`.)
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build:web` first');
  const server = await startTroveServer();
  let ids: unknown;
  try {
    ids = runFixture('fixture.py', { MLFLOW_TRACKING_URI: server.url });
  } catch (error) {
    await server.stop();
    throw error;
  }
  process.env.TROVE_E2E_URL = server.url;
  process.env.TROVE_E2E_IDS = JSON.stringify(ids);
  fs.mkdirSync(path.join(ROOT, 'e2e', 'output', 'screenshots'), { recursive: true });

  return () => server.stop();
}
