import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlEventsStore } from '../../src/store/sql/sql-events-store.ts';
import { SqlRegistryStore } from '../../src/store/sql/sql-registry-store.ts';
import type { NewRegistryEventRow } from '../../src/store/events-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The EventsStore contract (outbox, webhooks, deliveries), on SQLite and PostgreSQL: ids in
 * commit order, events that commit and roll back with the registry change, idempotent fan-out,
 * exclusive leases.
 */

const T0 = 1_700_000_000_000;
const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

function event(modelName: string, entity = 'registered_model', action = 'created'): NewRegistryEventRow {
  return { projectId: 1, entity, action, modelName, data: { name: modelName }, timestamp: T0 };
}

for (const backend of storeBackends) {
  describe(`EventsStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlEventsStore;

    before(async () => {
      ({ database, dispose } = await backend.open());
      store = new SqlEventsStore(database.db);
    });
    after(async () => {
      await dispose?.();
    });

    async function webhook(events: Array<{ entity: string; action: string }>, status: 'ACTIVE' | 'DISABLED' = 'ACTIVE'): Promise<string> {
      const webhookId = randomUUID();
      await store.createWebhook({ projectId: 1, webhookId, name: unique('hook'), description: null, url: 'http://127.0.0.1:9/x', secret: 's', status, events, now: T0 });
      return webhookId;
    }

    test('appended events get increasing ids and read back in order, by model', async () => {
      const a = unique('a');
      const b = unique('b');
      const before = await store.lastEventId();
      const ids = await store.appendEvents([event(a), event(b), event(a, 'model_version')]);
      assert.equal(ids.length, 3);
      assert.ok(ids[0]! > before && ids[1] === ids[0]! + 1 && ids[2] === ids[1]! + 1);
      assert.equal(await store.lastEventId(), ids[2]);
      const onlyA = await store.readEvents({ projectId: 1, afterId: before, modelName: a, limit: 10 });
      assert.deepEqual(onlyA.map((e) => [e.id, e.entity, e.modelName]), [[ids[0], 'registered_model', a], [ids[2], 'model_version', a]]);
      assert.deepEqual(onlyA[0]!.data, { name: a });
      const page = await store.readEvents({ projectId: 1, afterId: ids[0]!, limit: 1 });
      assert.deepEqual(page.map((e) => e.id), [ids[1]]);
    });

    test('events written through a registry transaction commit and roll back with it', async () => {
      const registry = new SqlRegistryStore(database.db);
      const kept = unique('kept');
      const lost = unique('lost');
      const start = await store.lastEventId();
      await registry.transaction(async (trx) => {
        const joined = store.joinTransaction(trx);
        assert.ok(joined, 'the outbox joins the registry transaction');
        await trx.createRegisteredModel({ projectId: 1, name: kept, description: null, userId: null, tags: [], now: T0 });
        await joined.appendEvents([event(kept)]);
      });
      await assert.rejects(
        registry.transaction(async (trx) => {
          await store.joinTransaction(trx)!.appendEvents([event(lost)]);
          throw new Error('the change fails after publishing');
        }),
        /the change fails/,
      );
      const after = await store.readEvents({ projectId: 1, afterId: start, limit: 100 });
      assert.deepEqual(after.map((e) => e.modelName), [kept]);
      assert.equal(store.joinTransaction({}), undefined);
    });

    test('fan-out creates one delivery per subscribed active webhook and event, however often it runs', async () => {
      // Earlier tests' events are fanned out first so this test counts only its own.
      while ((await store.fanOutEvents(500, T0)) > 0);
      const subscribed = await webhook([{ entity: 'model_version', action: 'created' }]);
      const other = await webhook([{ entity: 'model_version_tag', action: 'set' }]);
      const disabled = await webhook([{ entity: 'model_version', action: 'created' }], 'DISABLED');
      const name = unique('fan');
      await store.appendEvents([event(name, 'model_version'), event(name, 'model_version'), event(name, 'registered_model')]);
      // Three fan-outs at once see the same unprocessed events; the unique (webhook, event) pair
      // keeps the deliveries single.
      await Promise.all([store.fanOutEvents(2, T0), store.fanOutEvents(2, T0), store.fanOutEvents(2, T0)]);
      while ((await store.fanOutEvents(2, T0)) > 0);
      await store.fanOutEvents(10, T0);
      const pk = async (id: string): Promise<number> => (await store.getWebhook(1, id))!.pk;
      const deliveries = await store.listDeliveries({ webhookPk: await pk(subscribed), offset: 0, limit: 100 });
      assert.equal(deliveries.length, 2);
      assert.ok(deliveries.every((d) => d.status === 'pending' && d.attempts === 0 && d.entity === 'model_version'));
      assert.equal((await store.listDeliveries({ webhookPk: await pk(other), offset: 0, limit: 100 })).length, 0);
      assert.equal((await store.listDeliveries({ webhookPk: await pk(disabled), offset: 0, limit: 100 })).length, 0);
      // Leave nothing due for the next test.
      for (const claim of await store.claimDueDeliveries({ limit: 100, now: T0, leaseMs: 1000, leaseToken: 'cleanup' })) {
        await store.completeAttempt(claim.id, 'cleanup', { kind: 'cancelled', error: 'test', now: T0 });
      }
    });

    test('a delivery is leased to one claimant at a time, and only the lease holder records the outcome', async () => {
      const hook = await webhook([{ entity: 'model_version_alias', action: 'created' }]);
      await store.appendEvents(Array.from({ length: 6 }, () => event(unique('lease'), 'model_version_alias')));
      while ((await store.fanOutEvents(100, T0)) > 0);
      const claims = await Promise.all(
        ['one', 'two', 'three'].map((token) => store.claimDueDeliveries({ limit: 4, now: T0, leaseMs: 60_000, leaseToken: token })),
      );
      // Claims racing for the same rows may come back short, never overlapping; a later claim
      // gets what is left.
      const rest = await store.claimDueDeliveries({ limit: 10, now: T0, leaseMs: 60_000, leaseToken: 'four' });
      const ids = [...claims.flat(), ...rest].map((c) => c.id);
      assert.equal(new Set(ids).size, ids.length, 'no delivery claimed twice');
      assert.equal(ids.length, 6, 'every due delivery claimed');
      const first = [...claims.flat(), ...rest][0]!;
      assert.equal(first.webhook.webhookId, hook);
      assert.equal(first.webhook.secret, 's');
      assert.equal(await store.completeAttempt(first.id, 'not-the-holder', { kind: 'delivered', responseStatus: 200, responseBody: 'ok', now: T0 }), false);
      assert.equal(await store.completeAttempt(first.id, first.leaseToken, { kind: 'retry', responseStatus: 503, responseBody: 'busy', error: 'HTTP 503', nextAttemptAt: T0 + 5, now: T0 }), true);
      assert.deepEqual(await store.claimDueDeliveries({ limit: 10, now: T0 + 1, leaseMs: 60_000, leaseToken: 'early' }), [], 'not due yet, the rest still leased');
      const again = await store.claimDueDeliveries({ limit: 10, now: T0 + 5, leaseMs: 60_000, leaseToken: 'later' });
      assert.deepEqual(again.map((c) => c.id), [first.id]);
      assert.equal(again[0]!.attempts, 1);
      // Leases run out: a claimant that died leaves its deliveries to others.
      const expired = await store.claimDueDeliveries({ limit: 10, now: T0 + 120_000, leaseMs: 60_000, leaseToken: 'rescuer' });
      assert.equal(expired.length, 6);
      for (const claim of expired) await store.completeAttempt(claim.id, 'rescuer', { kind: 'delivered', responseStatus: 204, responseBody: null, now: T0 + 120_001 });
      const log = await store.listDeliveries({ webhookPk: (await store.getWebhook(1, hook))!.pk, offset: 0, limit: 10 });
      assert.ok(log.every((d) => d.status === 'delivered' && d.completedAt === T0 + 120_001 && d.nextAttemptAt === null));
      assert.equal(await store.nextDueTime(T0 + 200_000), undefined);
    });

    test('deleting a webhook cancels its pending deliveries; pruning removes what is old and finished', async () => {
      const hook = await webhook([{ entity: 'registered_model', action: 'created' }]);
      await store.appendEvents([event(unique('old'))]);
      while ((await store.fanOutEvents(100, T0)) > 0);
      assert.equal(await store.deleteWebhook(1, hook, T0 + 1), true);
      assert.equal(await store.deleteWebhook(1, hook, T0 + 2), false);
      assert.equal(await store.getWebhook(1, hook), undefined);
      const deleted = (await store.getWebhookIncludingDeleted(1, hook))!;
      const log = await store.listDeliveries({ webhookPk: deleted.pk, offset: 0, limit: 10 });
      assert.deepEqual(log.map((d) => d.status), ['cancelled']);
      const pruned = await store.prune(Date.now() + 1);
      assert.ok(pruned >= 1);
      assert.deepEqual(await store.listDeliveries({ webhookPk: deleted.pk, offset: 0, limit: 10 }), []);
    });

    test('an attempt in flight when its webhook is deleted is counted, and the cancellation and its reason stand', async () => {
      const hook = await webhook([{ entity: 'registered_model_tag', action: 'set' }]);
      await store.appendEvents([event(unique('inflight'), 'registered_model_tag', 'set')]);
      while ((await store.fanOutEvents(100, T0)) > 0);
      const [claim] = await store.claimDueDeliveries({ limit: 10, now: T0, leaseMs: 60_000, leaseToken: 'in-flight' });
      assert.ok(claim);
      assert.equal(await store.deleteWebhook(1, hook, T0 + 1), true);
      const kept = await store.completeAttempt(claim.id, 'in-flight', { kind: 'retry', responseStatus: null, responseBody: null, error: 'ECONNREFUSED', nextAttemptAt: T0 + 5, now: T0 + 2 });
      assert.equal(kept, true, 'the lease was still held');
      const [delivery] = await store.listDeliveries({ webhookPk: (await store.getWebhookIncludingDeleted(1, hook))!.pk, offset: 0, limit: 10 });
      assert.equal(delivery!.status, 'cancelled');
      assert.equal(delivery!.lastError, 'The webhook was deleted.');
      assert.equal(delivery!.attempts, 1);
      assert.deepEqual(await store.claimDueDeliveries({ limit: 10, now: T0 + 10, leaseMs: 60_000, leaseToken: 'later' }), [], 'nothing left to send');
    });
  });
}
