import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCKERFILE = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
/** The user the image runs as, where this test may switch to one (it runs as root). */
const NOBODY = 65534;

/**
 * `npm pack` gives a package that works on a machine that never saw the sources: its tarball is
 * installed into an empty folder the way the Dockerfile's runtime stage installs it (production
 * dependencies only), then started with `npx trove server`, as a user would and as the image does.
 *
 * To keep this quick, npm installs from its cache where it can (`--prefer-offline`: `npm ci` caches
 * every dependency's tarball but not the registry metadata `npm install <tarball>` resolves them
 * by, so on a fresh machine the first run fetches that; `--offline` failed there with ENOTCACHED)
 * without install scripts, and better-sqlite3's native module
 * (the only one, same version) is copied from this checkout instead of being compiled again.
 */
describe('the npm package (npm pack, installed into an empty folder)', () => {
  let dir: string;
  let app: string;
  let tarball: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-pack-'));
    fs.chmodSync(dir, 0o755);
    const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(packed.status, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(dir, info!.filename);
    app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{"private":true}\n');
    const installed = spawnSync('npm', ['install', '--omit=dev', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(installed.status, 0, installed.stderr);
    const binding = path.join('better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    fs.mkdirSync(path.dirname(path.join(app, 'node_modules', binding)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, 'node_modules', binding), path.join(app, 'node_modules', binding));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds the compiled server, its source maps and the web UI, and no sources or tests', () => {
    const listed = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const files = listed.map((file) => file.replace(/^package\//, ''));
    for (const wanted of ['package.json', 'bin/trove.js', 'dist/main.cjs', 'dist/main.cjs.map', 'bin/bundle-loader.js', 'web/dist/index.html']) assert.ok(files.includes(wanted), wanted);
    assert.deepEqual(files.filter((file) => /^(src|test|compat|e2e|bench|scripts|docs)\//.test(file) || file.endsWith('.ts')), []);
    // The development toolchain is not installed with it.
    for (const devOnly of ['tsx', 'esbuild', 'vite', 'typescript']) assert.equal(fs.existsSync(path.join(app, 'node_modules', devOnly)), false, devOnly);
  });

  it('serves with `npx trove server`: /health answers and an experiment can be created and read back', async () => {
    const data = path.join(dir, 'npx-data');
    const server = await start('npx', ['--no-install', 'trove', 'server', '--port', '0', '--backend-store-uri', `sqlite:///${data}/trove.db`, '--artifacts-destination', `${data}/artifacts`], {});
    try {
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      const created = await post(server.url, 'experiments/create', { name: 'from the package' });
      assert.equal(created.status, 200);
      const id = created.body.experiment_id as string;
      const read = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=${id}`);
      assert.equal(((await read.json()) as { experiment: { name: string } }).experiment.name, 'from the package');
      // It runs the bundle: the installed package has no TypeScript to fall back to.
      assert.equal(fs.existsSync(path.join(app, 'node_modules', 'trove', 'src')), false);
      assert.ok(fs.existsSync(`${data}/trove.db`));
    } finally {
      await server.stop();
    }
  });

  it("runs as the Dockerfile's image does: its command as a non-root user, data in the /data volume, healthy by its HEALTHCHECK, with the code cache warmed at build time", async (t) => {
    // The image's settings, read from the Dockerfile itself.
    assert.match(DOCKERFILE, /^USER trove$/m);
    assert.match(DOCKERFILE, /^VOLUME \/data$/m);
    assert.match(DOCKERFILE, /npm install --omit=dev --no-audit --no-fund \/tmp\/trove-\*\.tgz/);
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[];
    const command = JSON.parse(/^CMD (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[];
    const healthcheck = JSON.parse(/^\s+CMD (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[];
    assert.equal(entrypoint[0], '/app/node_modules/.bin/trove');
    assert.deepEqual(command.slice(0, 3), ['server', '--host', '0.0.0.0']);

    // The build's warm-up start (as root, before USER), with any cache an earlier test wrote removed.
    const warmup = /^ && TROVE_CODE_CACHE_WARMUP=1 (\/app\/node_modules\/\.bin\/trove) (.*) \\$/m.exec(DOCKERFILE);
    assert.ok(warmup, 'the Dockerfile warms the code cache');
    const dist = path.join(app, 'node_modules', 'trove', 'dist');
    for (const file of fs.readdirSync(dist)) if (file.endsWith('.code-cache')) fs.rmSync(path.join(dist, file));
    const warmupDir = path.join(dir, 'warmup');
    const warmed = spawnSync(warmup[1]!.replace('/app', app), warmup[2]!.split(' ').map((arg) => arg.replace('/tmp/warmup', warmupDir)), {
      cwd: app,
      env: { ...process.env, TROVE_RUNTIME: '', TROVE_CODE_CACHE_WARMUP: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(warmed.status, 0, warmed.stderr);
    const caches = () => fs.readdirSync(dist).filter((file) => file.endsWith('.code-cache'));
    assert.equal(caches().length, 1);

    // /app is this test's folder, /data a fresh folder owned by the unprivileged user.
    const volume = path.join(dir, 'volume');
    fs.mkdirSync(volume);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) fs.chownSync(volume, NOBODY, NOBODY);
    else t.diagnostic('not root: runs as the current user');
    const args = command.map((arg) => arg.replace('/data', volume).replace(/^0\.0\.0\.0$/, '127.0.0.1').replace(/^5000$/, '0'));
    const server = await start(path.join(app, 'node_modules', '.bin', 'trove'), args, asRoot ? { uid: NOBODY, gid: NOBODY } : {}, { NODE_DEBUG: 'trove' });
    try {
      const port = new URL(server.url).port;
      const probe = spawnSync(healthcheck[0]!, healthcheck.slice(1).map((arg) => arg.replace(':5000', `:${port}`)), { encoding: 'utf8' });
      assert.equal(probe.status, 0, probe.stderr);
      // The runtime user reads the cache written at build time (dist/ is root's: it could not write one).
      assert.match(server.output(), /code cache accepted/);
      assert.equal(caches().length, 1);
      assert.equal((await post(server.url, 'experiments/create', { name: 'in the volume' })).status, 200);
      const db = fs.statSync(path.join(volume, 'trove.db'));
      if (asRoot) assert.equal(db.uid, NOBODY);
    } finally {
      await server.stop();
    }
  });

  async function start(command: string, args: string[], user: { uid?: number; gid?: number }, env: NodeJS.ProcessEnv = {}) {
    const child: ChildProcess = spawn(command, args, {
      cwd: app,
      env: { ...process.env, TROVE_RUNTIME: '', TROVE_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: npx runs trove as a child, and stop() must end both.
      detached: true,
      ...user,
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = /URL:\s+(http:\/\/\S+)/.exec(output);
        if (match?.[1]) resolve(match[1].replace('0.0.0.0', '127.0.0.1'));
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => reject(new Error(`trove exited with ${code} before serving:\n${output}`)));
    });
    return {
      url,
      output: () => output,
      async stop() {
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          // Already gone.
        }
        await exited;
      },
    };
  }
});

async function post(url: string, endpoint: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/api/2.0/mlflow/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
