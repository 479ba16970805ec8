import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * bin/trove.js and scripts/build.mjs on a copy of the checkout (its own src/ and dist/, the shared
 * node_modules), so the sources can be changed without touching the real ones.
 */
describe('the compiled server (npm run build, bin/trove.js)', () => {
  let dir: string;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(dir, 'bin', 'trove.js'), ...args], {
      cwd: dir,
      env: { ...process.env, TROVE_RUNTIME: '', ...env },
      encoding: 'utf8',
    });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-build-'));
    for (const entry of ['bin', 'src', 'scripts', 'package.json']) {
      fs.cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    // A way to make the server fail with a stack trace, on the first line of the entry point.
    const main = path.join(dir, 'src', 'cli', 'main.ts');
    fs.writeFileSync(main, `if (process.env.TROVE_TEST_FAIL) throw new Error('failing on purpose');\n${fs.readFileSync(main, 'utf8')}`);
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--server'], { cwd: dir, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the bundle in dist/, whose stack traces name the TypeScript file and line', () => {
    const result = run(['server'], { TROVE_RUNTIME: 'dist', TROVE_TEST_FAIL: '1' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /failing on purpose/);
    assert.match(result.stderr, /src\/cli\/main\.ts:1:\d+/);
    assert.doesNotMatch(result.stderr, /^    at .*dist\/main\.cjs:\d+/m);
  });

  /** Starts `trove server` on the copy with NODE_DEBUG=trove until its stderr matches `until`, then stops it. */
  const serverDebugLog = (until: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const data = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-cache-'));
      const child = spawn(
        process.execPath,
        [path.join(dir, 'bin', 'trove.js'), 'server', '--port', '0', '--backend-store-uri', `sqlite:///${data}/trove.db`, '--artifacts-destination', `${data}/artifacts`, '--log-level', 'warn'],
        { cwd: dir, env: { ...process.env, TROVE_RUNTIME: 'dist', NODE_DEBUG: 'trove' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (until.test(stderr)) child.kill('SIGTERM');
      });
      child.once('error', reject);
      child.once('exit', () => {
        fs.rmSync(data, { recursive: true, force: true });
        if (until.test(stderr)) resolve(stderr);
        else reject(new Error(`the server exited before ${until}: ${stderr}`));
      });
    });
  const codeCaches = () => fs.readdirSync(path.join(dir, 'dist')).filter((name) => name.endsWith('.code-cache'));

  it('writes a code cache of the bundle once the server listens, uses it at the next start, and replaces one V8 refuses', async () => {
    for (const name of codeCaches()) fs.rmSync(path.join(dir, 'dist', name));
    const first = await serverDebugLog(/code cache written/);
    assert.match(first, /no code cache/);
    const [cache] = codeCaches();
    assert.ok(cache, 'a code cache file in dist/');
    assert.match(await serverDebugLog(/code cache accepted/), /code cache accepted/);
    // Damaged (or made by another V8): refused, the server still starts, and a good one is written.
    fs.writeFileSync(path.join(dir, 'dist', cache), Buffer.alloc(4096, 7));
    const damaged = await serverDebugLog(/code cache written/);
    assert.match(damaged, /code cache rejected/);
    assert.match(await serverDebugLog(/code cache accepted/), /code cache accepted/);
    // Other V8 flags: another cache file, the first one untouched.
    const other = spawnSync(process.execPath, ['--max-semi-space-size=2', path.join(dir, 'bin', 'trove.js'), '--version'], {
      cwd: dir,
      env: { ...process.env, TROVE_RUNTIME: 'dist', NODE_DEBUG: 'trove' },
      encoding: 'utf8',
    });
    assert.equal(other.status, 0, other.stderr);
    assert.match(other.stderr, /no code cache/);
  });

  it('keeps running dist/ when a source is touched without being changed, and refuses it after an edit of the same size', () => {
    const version = path.join(dir, 'src', 'version.ts');
    const stampFile = path.join(dir, 'dist', 'build-stamp.json');
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(version, later, later);
    const touched = run(['--version'], { TROVE_RUNTIME: 'dist' });
    assert.equal(touched.status, 0, touched.stderr);
    // The check hashed the contents once and recorded the new time for the next start.
    const { listing } = JSON.parse(fs.readFileSync(stampFile, 'utf8')) as { listing: string };
    assert.ok(listing.split('\n').includes(`src/version.ts\t${fs.statSync(version).size}\t${fs.statSync(version).mtimeMs}`), listing);
    const text = fs.readFileSync(version, 'utf8');
    const edited = text.replace(/TROVE_VERSION = '(\d)/, (_, digit: string) => `TROVE_VERSION = '${(Number(digit) + 1) % 10}`);
    assert.notEqual(edited, text);
    assert.equal(edited.length, text.length);
    fs.writeFileSync(version, edited);
    try {
      const refused = run(['--version'], { TROVE_RUNTIME: 'dist' });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /dist\/ is older than the sources/);
    } finally {
      fs.writeFileSync(version, text);
    }
  });

  it('refuses dist/ while a source file is added that the build did not see, and runs it again once it is gone', () => {
    // The check stats the recorded files only; a file added shows through its directory's time.
    const added = path.join(dir, 'src', 'cli', 'added-after-the-build.ts');
    fs.writeFileSync(added, 'export const added = 1;\n');
    try {
      const refused = run(['--version'], { TROVE_RUNTIME: 'dist' });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /dist\/ is older than the sources/);
    } finally {
      fs.rmSync(added);
    }
    const again = run(['--version'], { TROVE_RUNTIME: 'dist' });
    assert.equal(again.status, 0, again.stderr);
  });

  it('never runs a bundle older than the sources: it falls back to them, or refuses with TROVE_RUNTIME=dist', () => {
    const version = path.join(dir, 'src', 'version.ts');
    fs.writeFileSync(version, fs.readFileSync(version, 'utf8').replace(/TROVE_VERSION = '[^']*'/, "TROVE_VERSION = '9.9.9-changed'"));
    const refused = run(['--version'], { TROVE_RUNTIME: 'dist' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /dist\/ is older than the sources; run `npm run build`/);
    const fallback = run(['--version']);
    assert.equal(fallback.status, 0, fallback.stderr);
    assert.equal(fallback.stdout.trim(), '9.9.9-changed');
  });

  it('builds only what changed with --if-stale, and then runs the new bundle', () => {
    const rebuilt = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--server'], { cwd: dir, encoding: 'utf8' });
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /server bundle in dist\//);
    // A new bundle never meets the old one's code cache.
    assert.deepEqual(codeCaches(), []);
    const compiled = run(['--version'], { TROVE_RUNTIME: 'dist' });
    assert.equal(compiled.status, 0, compiled.stderr);
    assert.equal(compiled.stdout.trim(), '9.9.9-changed');
    const again = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--server'], { cwd: dir, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stderr, '');
  });
});
