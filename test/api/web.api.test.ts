import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { startTestServer, type TestServer } from './test-server.ts';

describe('web UI serving', () => {
  let t: TestServer;
  let dist: string;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  before(async () => {
    t = await startTestServer();
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-web-'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
    fs.writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dist, 'favicon.svg'), '<svg/>');
    app = await buildApp({ services: t.server.services, webDistDir: dist });
    bare = await buildApp({ services: t.server.services, webDistDir: path.join(dist, 'missing') });
  });
  after(async () => {
    await app.close();
    await bare.close();
    await t.close();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  test('/ and deep links get index.html, revalidated on every load', async () => {
    for (const url of ['/', '/experiments/3/runs/abc?tab=metrics', '/models/my.model/versions/2']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.match(res.body, /id="root"/);
    }
  });

  test('hashed assets are served with their type and cached for a year', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /javascript/);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(res.body, 'console.log(1)');
    const again = await app.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'if-none-match': res.headers.etag as string } });
    assert.equal(again.statusCode, 304);
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    assert.match(icon.headers['content-type'] as string, /image\/svg\+xml/);
  });

  test('a missing asset is a 404, not the app', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/index-old.js' });
    assert.equal(res.statusCode, 404);
  });

  test('paths outside the dist folder are never served', async () => {
    for (const url of ['/../package.json', '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json']) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(!res.body.includes('"name": "trove"'), url);
    }
  });

  test('unknown API paths keep the MLflow JSON 404 and the API still answers', async () => {
    const missing = await app.inject({ method: 'GET', url: '/api/2.0/mlflow/no-such-thing' });
    assert.equal(missing.statusCode, 404);
    assert.equal(JSON.parse(missing.body).error_code, 'ENDPOINT_NOT_FOUND');
    const ajax = await app.inject({ method: 'GET', url: '/ajax-api/2.0/mlflow/nope' });
    assert.equal(JSON.parse(ajax.body).error_code, 'ENDPOINT_NOT_FOUND');
    const experiment = await app.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/get?experiment_id=0' });
    assert.equal(experiment.statusCode, 200);
    const health = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.body, 'OK');
  });

  test('without a build, / explains how to build the UI', async () => {
    const res = await bare.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /npm run build:web/);
    const deep = await bare.inject({ method: 'GET', url: '/experiments/1' });
    assert.equal(deep.statusCode, 404);
  });
});
