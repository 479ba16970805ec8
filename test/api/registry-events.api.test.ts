import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { readSse, type SseMessage } from '../../src/cli/models/sse.ts';
import { openDatabase } from '../../src/store/sql/database.ts';
import { SqlEventsStore } from '../../src/store/sql/sql-events-store.ts';
import { startTestServer, type TestServer } from './test-server.ts';
import { eventually } from '../support/webhook-receiver.ts';

const EVENTS = '/api/2.0/trove/registry/events';

interface StreamEvent {
  id: number;
  entity: string;
  action: string;
  name: string;
  timestamp: number;
  data: Record<string, unknown>;
}

/** A live SSE connection that collects what arrives. */
class StreamClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  contentType = '';
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
    const client = new StreamClient();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: client.abort.signal });
    client.status = response.status;
    client.contentType = response.headers.get('content-type') ?? '';
    if (response.ok && response.body) {
      const body = response.body;
      client.done = (async () => {
        try {
          for await (const item of readSse(body, client.abort.signal)) {
            if (item.kind === 'message') client.messages.push(item.message);
            if (item.kind === 'comment') client.comments.push(item.text);
          }
        } catch {
          // aborted
        }
      })();
    }
    return client;
  }

  get events(): StreamEvent[] {
    return this.messages.map((m) => JSON.parse(m.data) as StreamEvent);
  }

  async waitForEvents(count: number): Promise<StreamEvent[]> {
    return eventually(() => (this.messages.length >= count ? this.events : undefined), { what: `${count} stream events` });
  }

  /** Resolves when the server ended the stream. */
  ended(): Promise<void> {
    return this.done;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

describe('registry event stream (SSE)', () => {
  let t: TestServer;
  let base: string;

  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: false, stream: { pollIntervalMs: 25 }, sse: { heartbeatMs: 40, retryMs: 500 } } });
    await t.server.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.server.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await t.close();
  });

  async function api(method: 'POST' | 'DELETE', path: string, body: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${base}/api/2.0/mlflow/${path}`, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200, await res.text());
  }

  test('registry changes arrive as events with outbox ids, filtered by model name', async () => {
    const all = await StreamClient.open(`${base}${EVENTS}`);
    const onlyA = await StreamClient.open(`${base}${EVENTS}?name=sse-a`);
    try {
      assert.equal(all.status, 200);
      assert.match(all.contentType, /^text\/event-stream/);
      await api('POST', 'registered-models/create', { name: 'sse-a' });
      await api('POST', 'registered-models/create', { name: 'sse-b' });
      await api('POST', 'model-versions/create', { name: 'sse-a', source: 's3://bucket/a/1' });
      await api('POST', 'registered-models/alias', { name: 'sse-a', alias: 'production', version: '1' });

      const seen = await onlyA.waitForEvents(3);
      assert.deepEqual(
        seen.map((e) => `${e.entity}.${e.action}`),
        ['registered_model.created', 'model_version.created', 'model_version_alias.created'],
      );
      assert.ok(seen.every((e) => e.name === 'sse-a'));
      assert.deepEqual(seen[2]!.data, { name: 'sse-a', alias: 'production', version: '1' });
      assert.equal(typeof seen[0]!.timestamp, 'number');
      // The SSE id is the outbox id, increasing.
      assert.deepEqual(onlyA.messages.map((m) => Number(m.id)), seen.map((e) => e.id));
      assert.ok(seen[0]!.id < seen[1]!.id && seen[1]!.id < seen[2]!.id);

      const everything = await all.waitForEvents(4);
      assert.deepEqual(everything.map((e) => e.name), ['sse-a', 'sse-b', 'sse-a', 'sse-a']);
      // No event of another model ever reached the filtered stream.
      assert.equal(onlyA.events.filter((e) => e.name !== 'sse-a').length, 0);
    } finally {
      await all.close();
      await onlyA.close();
    }
  });

  test('a reconnect with Last-Event-ID resumes exactly after the last event seen', async () => {
    const first = await StreamClient.open(`${base}${EVENTS}?name=sse-resume`);
    await api('POST', 'registered-models/create', { name: 'sse-resume' });
    const [created] = await first.waitForEvents(1);
    await first.close();

    // Missed while disconnected:
    await api('POST', 'model-versions/create', { name: 'sse-resume', source: 's3://bucket/r/1' });
    await api('POST', 'model-versions/set-tag', { name: 'sse-resume', version: '1', key: 'validated', value: 'true' });
    await api('POST', 'registered-models/create', { name: 'sse-other' });

    const resumed = await StreamClient.open(`${base}${EVENTS}?name=sse-resume`, { 'Last-Event-ID': String(created!.id) });
    try {
      const events = await resumed.waitForEvents(2);
      assert.deepEqual(events.map((e) => `${e.entity}.${e.action}`), ['model_version.created', 'model_version_tag.set']);
      assert.ok(events.every((e) => e.id > created!.id));
      // Live events keep coming on the resumed stream.
      await api('POST', 'registered-models/alias', { name: 'sse-resume', alias: 'champion', version: '1' });
      const more = await resumed.waitForEvents(3);
      assert.equal(`${more[2]!.entity}.${more[2]!.action}`, 'model_version_alias.created');
    } finally {
      await resumed.close();
    }

    // The query-string form does the same (for clients that cannot set headers).
    const viaQuery = await StreamClient.open(`${base}${EVENTS}?name=sse-resume&last_event_id=${created!.id}`);
    try {
      const events = await viaQuery.waitForEvents(3);
      assert.equal(events[0]!.entity, 'model_version');
    } finally {
      await viaQuery.close();
    }
  });

  test('a quiet stream sends heartbeat comments', async () => {
    const quiet = await StreamClient.open(`${base}${EVENTS}?name=nobody-changes-this`);
    try {
      await eventually(() => (quiet.comments.filter((c) => c === 'heartbeat').length >= 2 ? true : undefined), { what: 'heartbeats' });
      assert.equal(quiet.messages.length, 0);
    } finally {
      await quiet.close();
    }
  });

  test('events appended by another server process over the same database reach the stream', async () => {
    const stream = await StreamClient.open(`${base}${EVENTS}?name=from-elsewhere`);
    const other = await openDatabase(t.backendStoreUri);
    try {
      // Another process: its own connection, no in-process notification; found by polling.
      await new SqlEventsStore(other.db).appendEvents([
        { projectId: 1, entity: 'registered_model', action: 'created', modelName: 'from-elsewhere', data: { name: 'from-elsewhere' }, timestamp: Date.now() },
      ]);
      const [event] = await stream.waitForEvents(1);
      assert.equal(event!.name, 'from-elsewhere');
    } finally {
      await other.close();
      await stream.close();
    }
  });

  test('a client that goes away releases its subscription', async () => {
    const hub = t.server.services.registryEvents!;
    // The streams of earlier tests were all closed by their clients.
    await eventually(() => (hub.size === 0 ? true : undefined), { what: 'earlier streams to be released' });
    const client = await StreamClient.open(`${base}${EVENTS}?name=leaving`);
    await eventually(() => (hub.size === 1 ? true : undefined), { what: 'the subscription' });
    await client.close();
    await eventually(() => (hub.size === 0 ? true : undefined), { what: 'the subscription to be released' });
  });

  test('an invalid Last-Event-ID is a 400 with an MLflow error body', async () => {
    const res = await fetch(`${base}${EVENTS}`, { headers: { 'Last-Event-ID': 'yesterday' } });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error_code: string; message: string };
    assert.equal(body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(body.message, /Invalid last event id 'yesterday'/);
  });

  test('closing the server ends open streams', async () => {
    const own = await startTestServer({ webhooks: { dispatcher: false } });
    await own.server.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (own.server.app.server.address() as AddressInfo).port;
    const stream = await StreamClient.open(`http://127.0.0.1:${port}${EVENTS}`);
    assert.equal(stream.status, 200);
    await own.close();
    await stream.ended();
  });
});
