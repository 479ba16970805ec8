import { describe, expect, test } from 'vitest';
import { draftOf, draftProblem, eventFromKey, eventKey, eventLabel, webhookBody } from './webhooks.ts';

describe('webhook events', () => {
  test('enum names on the wire, dotted keys in the form', () => {
    expect(eventKey({ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' })).toBe('model_version_alias.created');
    expect(eventFromKey('model_version_tag.deleted')).toEqual({ entity: 'MODEL_VERSION_TAG', action: 'DELETED' });
    expect(eventLabel({ entity: 'MODEL_VERSION', action: 'CREATED' })).toBe('Model version created');
    expect(eventLabel('budget_policy.exceeded')).toBe('budget_policy.exceeded');
  });

  test('a draft of an existing webhook and the body sent back', () => {
    const draft = draftOf({
      webhook_id: 'w1',
      name: 'deploy',
      url: 'https://ci.example/hook',
      events: [{ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
      status: 'DISABLED',
    });
    expect(draft).toMatchObject({ name: 'deploy', events: ['model_version_alias.created'], active: false, secret: '' });
    // An empty secret keeps the stored one.
    expect(webhookBody(draft)).toEqual({
      name: 'deploy',
      url: 'https://ci.example/hook',
      description: '',
      events: [{ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
      status: 'DISABLED',
    });
    expect(webhookBody({ ...draft, secret: 's3cret', active: true })).toMatchObject({ secret: 's3cret', status: 'ACTIVE' });
  });

  test('drafts are checked before sending', () => {
    const ok = { ...draftOf(undefined), name: 'x', url: 'http://10.0.0.5:8080/hook' };
    expect(draftProblem(ok)).toBeUndefined();
    expect(draftProblem({ ...ok, name: ' ' })).toMatch(/name/);
    expect(draftProblem({ ...ok, url: 'ftp://x' })).toMatch(/http/);
    expect(draftProblem({ ...ok, events: [] })).toMatch(/event/);
  });
});
