import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { declaredRoutes } from '../../src/http/auth-hooks.ts';

/**
 * A fuzz pass over every declared route: malformed and random requests must never answer 5xx
 * (the MLflow client retries 5xx; a client mistake is a 4xx). Deterministic (seeded), so a
 * failure reproduces.
 */
let seed = 1234567;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const NASTY_VALUES: unknown[] = [
  '', ' ', '0', '-1', '1e309', 'NaN', 'null', 'true', '%00', '../../etc/passwd', '..%2f..%2f', 'a'.repeat(5000), '\u0000', '😀', "' OR 1=1 --",
  -1, 0, 1.5, 2 ** 63, Number.MAX_SAFE_INTEGER, true, false, null, [], {}, [1, 'x', null], { a: { b: { c: [] } } },
];
const FIELDS = ['experiment_id', 'run_id', 'run_uuid', 'name', 'key', 'value', 'path', 'max_results', 'page_token', 'filter', 'order_by', 'metrics', 'params', 'tags', 'version', 'alias', 'stage', 'source', 'events', 'url', 'webhook_id', 'trace_id', 'dataset_id', 'model_id', 'start_time', 'step', 'timestamp'];

function randomBody(): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const count = Math.floor(random() * 6);
  for (let i = 0; i < count; i++) body[pick(FIELDS)] = pick(NASTY_VALUES);
  return body;
}

function fillPattern(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, () => encodeURIComponent(String(pick(['x', '1', '..', 'a'.repeat(300), '%', '0'])))).replace(/\*/g, pick(['a/b', '..', 'x'.repeat(300)]));
}

let t: TestServer;
before(async () => {
  t = await startTestServer({ webhooks: { dispatcher: false } });
});
after(async () => t.close());

test('no route answers 5xx to malformed or random requests', async () => {
  const routes = declaredRoutes(t.server.app).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !r.url.includes('/events'));
  assert.ok(routes.length > 50, `routes found: ${routes.length}`);
  const failures: string[] = [];
  let requests = 0;
  for (const route of routes) {
    for (let i = 0; i < 12; i++) {
      const url = fillPattern(route.url);
      const kind = i % 4;
      const options =
        kind === 0
          ? { method: route.method as 'GET', url, query: Object.fromEntries(Object.entries(randomBody()).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])) }
          : kind === 1
            ? { method: route.method as 'POST', url, payload: '{"broken": ', headers: { 'content-type': 'application/json' } }
            : kind === 2
              ? { method: route.method as 'POST', url, payload: JSON.stringify(randomBody()), headers: { 'content-type': 'application/json' } }
              : { method: route.method as 'POST', url, payload: JSON.stringify(pick(NASTY_VALUES)), headers: { 'content-type': pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']) } };
      const res = await t.inject(options);
      requests += 1;
      if (res.statusCode >= 500 && res.statusCode !== 501) failures.push(`${route.method} ${route.url} (${kind}) → ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${requests} requests answered 5xx`);
});
