import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseModelUri } from '../../src/cli/models/model-uri.ts';
import { SizeMismatchError } from '../../src/cli/models/artifacts.ts';
import { pullAndWatch, pullOnce, type PullOptions } from '../../src/cli/models/pull.ts';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import { TestProxy } from '../support/http-proxy.ts';
import { modelFiles, RegistryFixture } from '../support/model-fixtures.ts';
import { eventually } from '../support/webhook-receiver.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TROVE = path.join(REPO, 'bin', 'trove.js');

function readInfo(dest: string): { name: string; version: string; run_id: string; source: string; downloaded_at: string; model_uri: string; files: number } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dest, 'trove-model.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Asserts DEST holds exactly the files of version `marker` (plus trove-model.json). */
function assertModel(dir: string, marker: number): void {
  for (const [file, data] of Object.entries(modelFiles(marker))) {
    assert.ok(fs.readFileSync(path.join(dir, file)).equals(data), `${file} of version ${marker}`);
  }
}

function quiet(extra: Partial<PullOptions> = {}): Pick<PullOptions, 'quiet' | 'log' | 'announce'> & Partial<PullOptions> {
  return { quiet: true, log: () => undefined, announce: () => undefined, ...extra };
}

describe('trove models pull', () => {
  let t: TestServer;
  let base: string;
  let registry: RegistryFixture;
  let work: string;

  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: false, stream: { pollIntervalMs: 50 }, sse: { heartbeatMs: 200 } } });
    await t.server.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.server.app.server.address() as AddressInfo).port}`;
    registry = new RegistryFixture(base);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-pull-'));
  });
  after(async () => {
    await t.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('pulls a version by number into a symlinked, complete folder with trove-model.json', async () => {
    await registry.createModel('pull-by-number');
    const { runId } = await registry.registerVersion('pull-by-number', 1);
    const dest = path.join(work, 'by-number', 'model');
    const result = await pullOnce({ uri: parseModelUri('models:/pull-by-number/1'), dest, trackingUri: base, ...quiet() });
    assert.equal(result.changed, true);
    assert.ok(fs.lstatSync(dest).isSymbolicLink());
    assert.equal(path.dirname(fs.realpathSync(dest)), path.join(work, 'by-number', '.model.versions'));
    assertModel(dest, 1);
    const info = readInfo(dest)!;
    assert.equal(info.name, 'pull-by-number');
    assert.equal(info.version, '1');
    assert.equal(info.run_id, runId);
    assert.equal(info.source, `runs:/${runId}/model`);
    assert.equal(info.model_uri, 'models:/pull-by-number/1');
    assert.equal(info.files, 4);
    assert.ok(!Number.isNaN(Date.parse(info.downloaded_at)));

    const again = await pullOnce({ uri: parseModelUri('models:/pull-by-number/1'), dest, trackingUri: base, ...quiet() });
    assert.equal(again.changed, false, 'an up-to-date folder is left alone');
  });

  test('resolves aliases, latest and stages as the MLflow client does', async () => {
    await registry.createModel('resolving');
    await registry.registerVersion('resolving', 1);
    await registry.registerVersion('resolving', 2);
    await registry.registerVersion('resolving', 3);
    await registry.setAlias('resolving', 'champion', '2');
    await registry.call('POST', 'model-versions/transition-stage', { name: 'resolving', version: '1', stage: 'Production', archive_existing_versions: false });
    for (const [uri, marker] of [
      ['models:/resolving@champion', 2],
      ['models:/resolving/latest', 3],
      ['models:/resolving/Production', 1],
      ['models:/resolving/production', 1],
    ] as const) {
      const dest = path.join(work, 'resolving', uri.replace(/[^a-z@]/gi, '_'));
      const result = await pullOnce({ uri: parseModelUri(uri), dest, trackingUri: base, ...quiet() });
      assert.equal(result.info.version, String(marker), uri);
      assertModel(dest, marker);
    }
    await assert.rejects(
      pullOnce({ uri: parseModelUri('models:/resolving/Staging'), dest: path.join(work, 'resolving', 'staging'), trackingUri: base, ...quiet() }),
      /No versions of model with name 'resolving' and stage 'Staging' found/,
    );
    await assert.rejects(
      pullOnce({ uri: parseModelUri('models:/resolving@nope'), dest: path.join(work, 'resolving', 'nope'), trackingUri: base, ...quiet() }),
      /alias nope not found/i,
    );
  });

  test('the command refuses a plain folder from before unless --force, which moves it aside', async () => {
    await registry.createModel('cli-force');
    await registry.registerVersion('cli-force', 1);
    const dest = path.join(work, 'cli-force');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'old.txt'), 'hand-made');
    const refused = await runCli(['models', 'pull', 'models:/cli-force/1', '--dest', dest, '--tracking-uri', base]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already exists and is not managed by trove models pull.*--force/s);
    assert.equal(fs.readFileSync(path.join(dest, 'old.txt'), 'utf8'), 'hand-made');

    const forced = await runCli(['models', 'pull', 'models:/cli-force/1', '--dest', dest, '--tracking-uri', base, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /now holds cli-force version 1/);
    // Not a terminal: plain progress lines, with file count and rate.
    assert.match(forced.stderr, /cli-force v1: 4 files/);
    assert.match(forced.stderr, /4 files, .* in .* s \(.*\/s\)/);
    assertModel(dest, 1);
    const aside = fs.readdirSync(path.join(work, '.cli-force.versions')).find((n) => n.startsWith('previous-'));
    assert.ok(aside, 'the old folder is kept in the versions folder');
    assert.equal(fs.readFileSync(path.join(work, '.cli-force.versions', aside, 'old.txt'), 'utf8'), 'hand-made');
  });

  test('bad input to the command is reported clearly', async () => {
    const badUri = await runCli(['models', 'pull', 'runs:/abc/model', '--dest', path.join(work, 'x'), '--tracking-uri', base]);
    assert.equal(badUri.code, 1);
    assert.match(badUri.stderr, /Not a proper models:\/ URI/);
    const unknown = await runCli(['models', 'pull', 'models:/no-such-model/1', '--dest', path.join(work, 'y'), '--tracking-uri', base]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /RESOURCE_DOES_NOT_EXIST|not found/);
    const down = await runCli(['models', 'pull', 'models:/m/1', '--dest', path.join(work, 'z'), '--tracking-uri', 'http://127.0.0.1:9']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Cannot reach the tracking server at http:\/\/127\.0\.0\.1:9/);
    const help = await runCli(['models', 'pull', '--help']);
    assert.match(help.stdout, /models:\/churn@production/);
  });

  test('a size that does not match the listing fails the pull and leaves the folder as it was', async () => {
    await registry.createModel('mismatch');
    await registry.registerVersion('mismatch', 1);
    await registry.registerVersion('mismatch', 2);
    const dest = path.join(work, 'mismatch');
    await pullOnce({ uri: parseModelUri('models:/mismatch/1'), dest, trackingUri: base, ...quiet() });
    const lying = await TestProxy.start(base, { listedSizeDelta: 1 });
    try {
      await assert.rejects(
        pullOnce({ uri: parseModelUri('models:/mismatch/2'), dest, trackingUri: lying.url, ...quiet() }),
        (error: unknown) => error instanceof SizeMismatchError && /Size mismatch for .*: the server listed \d+ bytes, \d+ were downloaded/.test(error.message),
      );
    } finally {
      await lying.close();
    }
    assertModel(dest, 1);
    assert.equal(readInfo(dest)!.version, '1');
    const leftovers = fs.readdirSync(path.join(work, '.mismatch.versions')).filter((n) => n.startsWith('.staging-'));
    assert.deepEqual(leftovers, [], 'the partial download is removed');
  });

  test('credentials from the environment are sent on every request', async () => {
    await registry.createModel('authed');
    await registry.registerVersion('authed', 1);
    const proxy = await TestProxy.start(base);
    try {
      await pullOnce({ uri: parseModelUri('models:/authed/1'), dest: path.join(work, 'authed-token'), trackingUri: proxy.url, env: { MLFLOW_TRACKING_TOKEN: 'tok-123' }, ...quiet() });
      assert.ok(proxy.authorizations.length >= 4);
      assert.ok(proxy.authorizations.every((r) => r.authorization === 'Bearer tok-123'), JSON.stringify(proxy.authorizations));
      proxy.authorizations.length = 0;
      await pullOnce({
        uri: parseModelUri('models:/authed/1'),
        dest: path.join(work, 'authed-basic'),
        trackingUri: proxy.url,
        env: { MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 'pw', MLFLOW_TRACKING_TOKEN: 'ignored' },
        ...quiet(),
      });
      const basic = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
      assert.ok(proxy.authorizations.every((r) => r.authorization === basic));
    } finally {
      await proxy.close();
    }
  });

  test('--watch switches to each new version while a reader never sees a missing or mixed model', async () => {
    await registry.createModel('watched');
    await registry.registerVersion('watched', 1);
    await registry.setAlias('watched', 'production', '1');
    const dest = path.join(work, 'watched');
    const child = spawn(process.execPath, [TROVE, 'models', 'pull', 'models:/watched@production', '--dest', dest, '--watch', '--tracking-uri', base, '--grace-period', '120'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(child);
    try {
      await eventually(() => (readInfo(dest)?.version === '1' ? true : undefined), { what: 'version 1 in DEST', timeoutMs: 30_000 });
      await eventually(() => (/Watching watched for changes/.test(output.stderr) ? true : undefined), { what: 'the watcher to follow the stream', timeoutMs: 30_000 });

      const reader = startReader(dest);
      try {
        await eventually(() => (reader.versionsSeen.has('1') ? true : undefined), { what: 'the reader to read version 1' });
        for (const marker of [2, 3]) {
          const { version } = await registry.registerVersion('watched', marker);
          await registry.setAlias('watched', 'production', version);
          await eventually(() => (readInfo(dest)?.version === version ? true : undefined), { what: `version ${version} in DEST`, timeoutMs: 30_000 });
          assertModel(dest, marker);
          await eventually(() => (reader.versionsSeen.has(version) ? true : undefined), { what: `the reader to read version ${version}` });
        }
      } finally {
        await reader.stop();
      }
      assert.deepEqual(reader.errors, [], 'the reader never saw a missing, partial or mixed model');
      assert.ok(reader.reads > 20, `the reader kept reading during the swaps (${reader.reads} reads)`);
      await eventually(() => (/now holds watched version 3 \(was version 2\)/.test(output.stdout) ? true : undefined), { what: 'the swap report' });
      assert.match(output.stdout, /now holds watched version 2 \(was version 1\)/);
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, output.stderr);
    assert.match(output.stderr, /Stopped watching/);
    assert.equal(fs.existsSync(path.join(work, '.watched.versions', 'lock')), false, 'the lock is released');
  });

  test('--watch resumes after the event stream drops, and polls a server that has no stream', async () => {
    await registry.createModel('resilient');
    await registry.registerVersion('resilient', 1);
    await registry.setAlias('resilient', 'live', '1');
    const proxy = await TestProxy.start(base);
    const stop = new AbortController();
    const lines: string[] = [];
    const dest = path.join(work, 'resilient');
    const watching = pullAndWatch(
      { uri: parseModelUri('models:/resilient@live'), dest, trackingUri: proxy.url, ...quiet({ log: (l) => lines.push(l) }), pollIntervalMs: 60_000, reconnectMinMs: 20, reconnectMaxMs: 100 },
      stop.signal,
    );
    try {
      await eventually(() => (proxy.openStreams > 0 && readInfo(dest)?.version === '1' ? true : undefined), { what: 'a followed stream' });
      // The stream drops; the alias moves while it is down; the watcher reconnects and catches up.
      proxy.cutStreams();
      const { version } = await registry.registerVersion('resilient', 2);
      await registry.setAlias('resilient', 'live', version);
      await eventually(() => (readInfo(dest)?.version === version ? true : undefined), { what: 'version 2 after the reconnect' });
      assert.ok(lines.some((l) => /Event stream lost/.test(l)), lines.join('\n'));
    } finally {
      stop.abort();
      await watching;
      await proxy.close();
    }

    // A server without the event stream (upstream MLflow): polling.
    const plain = await TestProxy.start(base, { noEventStream: true });
    const stopPolling = new AbortController();
    const pollLines: string[] = [];
    const polling = pullAndWatch(
      { uri: parseModelUri('models:/resilient@live'), dest, trackingUri: plain.url, ...quiet({ log: (l) => pollLines.push(l) }), pollIntervalMs: 50 },
      stopPolling.signal,
    );
    try {
      await eventually(() => (pollLines.some((l) => /no registry event stream; checking every/.test(l)) ? true : undefined), { what: 'the polling fallback' });
      const { version } = await registry.registerVersion('resilient', 3);
      await registry.setAlias('resilient', 'live', version);
      await eventually(() => (readInfo(dest)?.version === version ? true : undefined), { what: 'version 3 by polling' });
      assertModel(dest, 3);
    } finally {
      stopPolling.abort();
      await polling;
      await plain.close();
    }
  });

  test('replaced versions are deleted once their grace period is over', async () => {
    await registry.createModel('graceful');
    await registry.registerVersion('graceful', 1);
    await registry.registerVersion('graceful', 2);
    const dest = path.join(work, 'graceful');
    await pullOnce({ uri: parseModelUri('models:/graceful/1'), dest, trackingUri: base, ...quiet({ graceMs: 60_000 }) });
    const first = fs.realpathSync(dest);
    await pullOnce({ uri: parseModelUri('models:/graceful/2'), dest, trackingUri: base, ...quiet({ graceMs: 60_000 }) });
    assert.ok(fs.existsSync(first), 'kept during the grace period');
    await pullOnce({ uri: parseModelUri('models:/graceful/1'), dest, trackingUri: base, ...quiet({ graceMs: 0 }) });
    assert.equal(fs.existsSync(first), false, 'deleted after it');
    assertModel(dest, 1);
    const left = fs.readdirSync(path.join(work, '.graceful.versions')).filter((n) => !['state.json'].includes(n));
    assert.equal(left.length, 1, left.join(', '));
  });
});

interface Output {
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Output {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return output;
}

async function runCli(args: string[]): Promise<Output & { code: number | null }> {
  const child = spawn(process.execPath, [TROVE, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLFLOW_TRACKING_URI: '' } });
  const output = collect(child);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { ...output, code };
}

/**
 * Reads the model in a loop, as a serving process would: each round resolves DEST once and reads
 * every file from there (all must exist, be complete and belong to the same version), and also
 * opens a file through DEST itself (must never be missing).
 */
function startReader(dest: string): { errors: string[]; reads: number; versionsSeen: Set<string>; stop(): Promise<void> } {
  const state = { errors: [] as string[], reads: 0, versionsSeen: new Set<string>() };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        fs.readFileSync(path.join(dest, 'MLmodel'));
        const dir = fs.realpathSync(dest);
        const info = JSON.parse(fs.readFileSync(path.join(dir, 'trove-model.json'), 'utf8')) as { version: string };
        const mlmodel = fs.readFileSync(path.join(dir, 'MLmodel'), 'utf8');
        const marker = Number(/test_version: (\d+)/.exec(mlmodel)?.[1]);
        for (const [file, data] of Object.entries(modelFiles(marker))) {
          if (!fs.readFileSync(path.join(dir, file)).equals(data)) state.errors.push(`${file} differs from version ${marker}`);
        }
        state.versionsSeen.add(info.version);
        state.reads++;
      } catch (error) {
        state.errors.push(String(error));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    get errors() {
      return state.errors;
    },
    get reads() {
      return state.reads;
    },
    versionsSeen: state.versionsSeen,
    async stop() {
      running = false;
      await loop;
    },
  };
}
