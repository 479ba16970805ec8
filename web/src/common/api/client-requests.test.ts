import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { api, ApiError, isCsrfError, onCsrfRefresh, onUnauthorized, projectUrl, setCsrfToken } from './client.ts';

/** The request side of the client, against a stubbed fetch and page location. */

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
}

let sent: Sent[];
let answers: Array<{ status: number; body: unknown }>;

beforeEach(() => {
  sent = [];
  answers = [];
  vi.stubGlobal('window', { location: { pathname: '/projects/fraud/experiments/1' } });
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    sent.push({ url, method: init.method ?? 'GET', headers: { ...(init.headers as Record<string, string>) } });
    const answer = answers.shift() ?? { status: 200, body: {} };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  });
  setCsrfToken(undefined);
  onUnauthorized(undefined);
  onCsrfRefresh(undefined);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('requests in the page’s project', () => {
  test('API paths carry the project prefix; instance endpoints can opt out', async () => {
    await api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'r1' });
    await api.get('/ajax-api/2.0/trove/projects', {}, undefined, { project: false });
    expect(sent.map((s) => s.url)).toEqual(['/projects/fraud/ajax-api/2.0/mlflow/runs/get?run_id=r1', '/ajax-api/2.0/trove/projects']);
    expect(projectUrl('/ajax-api/2.0/mlflow-artifacts/artifacts/1/a.png')).toBe('/projects/fraud/ajax-api/2.0/mlflow-artifacts/artifacts/1/a.png');
  });

  test('the default project keeps bare URLs', async () => {
    vi.stubGlobal('window', { location: { pathname: '/experiments/1' } });
    await api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'r1' });
    expect(sent[0]!.url).toBe('/ajax-api/2.0/mlflow/runs/get?run_id=r1');
  });

  test('writes carry the CSRF token, reads do not', async () => {
    setCsrfToken('tok-1');
    await api.get('/ajax-api/2.0/mlflow/experiments/search');
    await api.post('/ajax-api/2.0/mlflow/runs/search', {});
    await api.patch('/ajax-api/2.0/trove/project', { description: 'x' });
    await api.delete('/ajax-api/2.0/trove/project/members/bob');
    expect(sent.map((s) => s.headers['X-CSRF-Token'])).toEqual([undefined, 'tok-1', 'tok-1', 'tok-1']);
  });

  test('a 401 calls the handler (unless the caller handles it) and still throws', async () => {
    const handler = vi.fn();
    onUnauthorized(handler);
    answers.push({ status: 401, body: { error_code: 'UNAUTHENTICATED', message: 'Authentication required' } });
    await expect(api.get('/ajax-api/2.0/mlflow/experiments/search')).rejects.toBeInstanceOf(ApiError);
    expect(handler).toHaveBeenCalledTimes(1);
    answers.push({ status: 401, body: { error_code: 'UNAUTHENTICATED', message: 'Invalid user name or password.' } });
    await expect(api.post('/ajax-api/2.0/trove/auth/login', {}, undefined, { project: false, handleUnauthorized: false })).rejects.toThrow('Invalid user name or password.');
    expect(handler).toHaveBeenCalledTimes(1);
  });

  test('a write refused for a stale CSRF token is retried once with a fresh one', async () => {
    setCsrfToken('old');
    // As the app's refresher does (GET .../auth/session): it stores the new token itself.
    onCsrfRefresh(async () => {
      setCsrfToken('new');
      return 'new';
    });
    answers.push({ status: 403, body: { error_code: 'PERMISSION_DENIED', message: 'Missing or invalid CSRF token: send it in the x-csrf-token header.' } });
    answers.push({ status: 200, body: { ok: true } });
    await expect(api.post('/ajax-api/2.0/mlflow/runs/set-tag', {})).resolves.toEqual({ ok: true });
    expect(sent.map((s) => s.headers['X-CSRF-Token'])).toEqual(['old', 'new']);
  });

  test('other 403s are not retried', async () => {
    onCsrfRefresh(async () => 'new');
    answers.push({ status: 403, body: { error_code: 'PERMISSION_DENIED', message: 'you need the developer role' } });
    await expect(api.post('/ajax-api/2.0/mlflow/runs/set-tag', {})).rejects.toThrow('developer role');
    expect(sent).toHaveLength(1);
    expect(isCsrfError(new ApiError('PERMISSION_DENIED', 'Missing or invalid CSRF token', 403))).toBe(true);
  });
});

describe('prefetched GETs', () => {
  test('the page’s GET of the same path and query takes over the prefetch, once', async () => {
    answers.push({ status: 200, body: { run: { id: 'p1' } } });
    const early = api.prefetch<{ run: { id: string } }>('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p1' });
    await expect(early).resolves.toEqual({ run: { id: 'p1' } });
    await expect(api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p1' })).resolves.toEqual({ run: { id: 'p1' } });
    expect(sent).toHaveLength(1);
    // A later GET (a reload, polling) asks the server again.
    await api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p1' });
    expect(sent).toHaveLength(2);
  });

  test('a GET with another query, or with options, is sent itself', async () => {
    void api.prefetch('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p2' });
    await api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p3' });
    await api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p2' }, undefined, { project: false });
    expect(sent.map((s) => s.url)).toEqual(['/projects/fraud/ajax-api/2.0/mlflow/runs/get?run_id=p2', '/projects/fraud/ajax-api/2.0/mlflow/runs/get?run_id=p3', '/ajax-api/2.0/mlflow/runs/get?run_id=p2']);
    await api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p2' });
    expect(sent).toHaveLength(3);
  });

  test('an instance-level GET (no project prefix) takes over its prefetch too', async () => {
    answers.push({ status: 200, body: { projects: [{ name: 'fraud' }] } });
    void api.prefetch('/ajax-api/2.0/trove/projects', {}, { project: false });
    await expect(api.get('/ajax-api/2.0/trove/projects', {}, undefined, { project: false })).resolves.toEqual({ projects: [{ name: 'fraud' }] });
    expect(sent.map((s) => s.url)).toEqual(['/ajax-api/2.0/trove/projects']);
  });

  test('prefetching the same request twice sends it once', async () => {
    const a = api.prefetch('/ajax-api/2.0/mlflow/experiments/get', { experiment_id: '7' });
    const b = api.prefetch('/ajax-api/2.0/mlflow/experiments/get', { experiment_id: '7' });
    await Promise.all([a, b]);
    expect(sent).toHaveLength(1);
    await api.get('/ajax-api/2.0/mlflow/experiments/get', { experiment_id: '7' });
    expect(sent).toHaveLength(1);
  });

  test('a failed prefetch leaves a 401 to the page’s own request, which is sent again and handles it', async () => {
    const handler = vi.fn();
    onUnauthorized(handler);
    answers.push({ status: 401, body: { error_code: 'UNAUTHENTICATED', message: 'Authentication required' } });
    await expect(api.prefetch('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p4' })).rejects.toBeInstanceOf(ApiError);
    expect(handler).not.toHaveBeenCalled();
    answers.push({ status: 401, body: { error_code: 'UNAUTHENTICATED', message: 'Authentication required' } });
    await expect(api.get('/ajax-api/2.0/mlflow/runs/get', { run_id: 'p4' })).rejects.toBeInstanceOf(ApiError);
    expect(sent).toHaveLength(2);
    expect(handler).toHaveBeenCalledTimes(1);
  });
});
