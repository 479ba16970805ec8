import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { postJson, startTroveProcess } from '../support/trove-process.ts';

const SENTINEL_TEXT = 'sentinel: must never be read or written through the server';

/** Ways to say "parent folder", raw and encoded once, twice, overlong or full-width. */
const PARENTS = ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '..%00', '%c0%ae%c0%ae', '%ef%bc%8e%ef%bc%8e', '..;'];
/** Ways to say "/" (and Windows' "\"). */
const SEPARATORS = ['/', '%2f', '%2F', '\\', '%5c', '%255c'];
const DEPTHS = [1, 2, 3, 4, 6, 8];

/** The corpus: every parent × separator × depth, aimed at the sentinel and at /etc/passwd, plus absolute forms. */
function corpus(sentinelPath: string): string[] {
  const sentinelName = path.basename(sentinelPath);
  const paths: string[] = [];
  for (const parent of PARENTS) {
    for (const separator of SEPARATORS) {
      for (const depth of DEPTHS) {
        const up = Array.from({ length: depth }, () => parent).join(separator);
        paths.push(`${up}${separator}${sentinelName}`, `x${separator}${up}${separator}etc${separator}passwd`);
      }
    }
  }
  for (const absolute of [sentinelPath, '/etc/passwd']) {
    paths.push(absolute, encodeURIComponent(absolute), `file:${absolute}`, `file://${absolute}`, absolute.replaceAll('/', '\\'), `C:${absolute}`);
  }
  return paths;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function send(base: URL, method: string, urlPath: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: base.hostname, port: base.port, method, path: urlPath, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/**
 * The traversal corpus of the security campaign, kept: thousands of encoded ../ and absolute paths
 * through every artifact route, over real HTTP (no URL normalisation on the way). Nothing outside
 * the artifact root is read, written or deleted, and no request answers 5xx.
 */
test('no encoded or absolute path in the traversal corpus reaches outside the artifact root through any artifact route', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-traversal-'));
  const artifactsDir = path.join(dataDir, 'artifacts');
  const sentinel = path.join(dataDir, 'sentinel.txt');
  fs.writeFileSync(sentinel, SENTINEL_TEXT);
  const server = await startTroveProcess(['--backend-store-uri', `sqlite:///${path.join(dataDir, 'trove.db')}`, '--artifacts-destination', artifactsDir]);
  try {
    const base = new URL(server.url);
    const run = await postJson(server.url, 'runs/create', { experiment_id: '0' });
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    const runPrefix = `0/${runId}/artifacts`;
    const outsideBefore = filesUnder(dataDir).filter((f) => !f.startsWith(artifactsDir + path.sep) && !f.startsWith(path.join(dataDir, 'trove.db')));

    const paths = corpus(sentinel);
    const routes: [string, (p: string) => string, string?][] = [
      ['GET', (p) => `/api/2.0/mlflow-artifacts/artifacts/${runPrefix}/${p}`],
      ['PUT', (p) => `/api/2.0/mlflow-artifacts/artifacts/${runPrefix}/${p}`, 'overwritten'],
      ['DELETE', (p) => `/api/2.0/mlflow-artifacts/artifacts/${runPrefix}/${p}`],
      ['GET', (p) => `/api/2.0/mlflow-artifacts/artifacts?path=${runPrefix}/${p}`],
      ['GET', (p) => `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=${p}`],
      ['GET', (p) => `/get-artifact?run_id=${runId}&path=${p}`],
      ['POST', (p) => `/api/2.0/mlflow-artifacts/mpu/create/${runPrefix}/${p}`, JSON.stringify({ path: 'x.bin', num_parts: 1 })],
    ];
    const serverErrors: string[] = [];
    const leaks: string[] = [];
    let sent = 0;
    const refusedByRoute = new Map<string, number>();
    for (const [method, url, body] of routes) {
      const routeName = `${method} ${url('…')}`;
      refusedByRoute.set(routeName, 0);
      // A few requests in flight at a time: fast, and the order of writes stays irrelevant.
      for (let i = 0; i < paths.length; i += 8) {
        await Promise.all(
          paths.slice(i, i + 8).map(async (p) => {
            const response = await send(base, method, url(p), body);
            sent += 1;
            if (response.status === 400) refusedByRoute.set(routeName, refusedByRoute.get(routeName)! + 1);
            if (response.status >= 500) serverErrors.push(`${method} ${url(p)} → ${response.status} ${response.body.slice(0, 120)}`);
            if (response.body.includes(SENTINEL_TEXT) || /root:.*:0:0:/.test(response.body)) leaks.push(`${method} ${url(p)}`);
          }),
        );
      }
    }
    assert.deepEqual(serverErrors, [], `${serverErrors.length} of ${sent} requests answered 5xx`);
    // The path rules answered, not a router that never saw the path: every route refused most of the corpus.
    for (const [routeName, refused] of refusedByRoute) assert.ok(refused > paths.length / 2, `${routeName}: only ${refused} of ${paths.length} refused with 400`);
    assert.deepEqual(leaks, [], 'a response carried a file from outside the artifact root');
    assert.equal(fs.readFileSync(sentinel, 'utf8'), SENTINEL_TEXT, 'the sentinel beside the root is untouched');
    const outsideAfter = filesUnder(dataDir).filter((f) => !f.startsWith(artifactsDir + path.sep) && !f.startsWith(path.join(dataDir, 'trove.db')));
    assert.deepEqual(outsideAfter.sort(), outsideBefore.sort(), 'no file was created or removed outside the artifact root');
    assert.ok(fs.existsSync('/etc/passwd'), 'and /etc/passwd is still there');
    assert.ok(sent > 5000, `the corpus is the campaign's size (${sent} requests)`);
    console.log(`# ${sent} traversal requests, 0 escapes, 0 5xx`);
  } finally {
    agent.destroy();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
