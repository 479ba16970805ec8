import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test, vi } from 'vitest';
import { createStaticHandler, createStaticRouter, StaticRouterProvider, type LoaderFunctionArgs, type ShouldRevalidateFunctionArgs } from 'react-router';
import { pageRoute } from './page-route.ts';
import { Loading } from './ui.tsx';

function Page() {
  return null;
}

const loaderArgs = (url: string, params: Record<string, string>) => ({ request: new Request(url), params, context: undefined }) as unknown as LoaderFunctionArgs;
const revalidateArgs = (currentParams: Record<string, string>, nextParams: Record<string, string>) =>
  ({ currentParams, nextParams, currentUrl: new URL('http://x/a'), nextUrl: new URL('http://x/a?tab=metrics'), defaultShouldRevalidate: true }) as unknown as ShouldRevalidateFunctionArgs;

describe('pageRoute', () => {
  test('the router loads the page’s module (route lazy) and shows Loading on a first load meanwhile', async () => {
    const load = vi.fn(async () => ({ default: Page }));
    const route = pageRoute(load);
    expect(load).not.toHaveBeenCalled();
    await expect(route.lazy()).resolves.toEqual({ Component: Page });
    expect(route.HydrateFallback).toBe(Loading);
    expect(route.loader).toBeUndefined();
  });

  test('a prefetch runs from the route’s loader with the path parameters and URL, without waiting', () => {
    const prefetch = vi.fn();
    const route = pageRoute(async () => ({ default: Page }), prefetch);
    expect(route.loader?.(loaderArgs('http://x/experiments/1/runs/r1?tab=metrics', { experimentId: '1', runId: 'r1' }))).toBeNull();
    expect(prefetch).toHaveBeenCalledTimes(1);
    const [params, url] = prefetch.mock.calls[0] as [Record<string, string>, URL];
    expect(params).toEqual({ experimentId: '1', runId: 'r1' });
    expect(url.searchParams.get('tab')).toBe('metrics');
  });

  test('the prefetch runs again for other path parameters, not for another query (a tab)', () => {
    const route = pageRoute(async () => ({ default: Page }), () => undefined);
    expect(route.shouldRevalidate?.(revalidateArgs({ runId: 'r1' }, { runId: 'r1' }))).toBe(false);
    expect(route.shouldRevalidate?.(revalidateArgs({ runId: 'r1' }, { runId: 'r2' }))).toBe(true);
    expect(route.shouldRevalidate?.(revalidateArgs({ runId: 'r1' }, { runId: 'r1', traceId: 't' }))).toBe(true);
  });
});

describe('a page that cannot be loaded', () => {
  test('shows the error with a Retry instead of the router’s developer page', async () => {
    const routes = [{ id: 'page', path: '/', ...pageRoute(async () => Promise.reject(new Error('Failed to fetch dynamically imported module /assets/RunPage-old.js'))) }];
    const handler = createStaticHandler(routes);
    const context = await handler.query(new Request('http://x/'));
    if (context instanceof Response) throw new Error('unexpected redirect');
    const html = renderToStaticMarkup(createElement(StaticRouterProvider, { router: createStaticRouter(handler.dataRoutes, context), context, hydrate: false }));
    expect(html).toContain('Something went wrong.');
    expect(html).toContain('Failed to fetch dynamically imported module');
    expect(html).toContain('Retry');
    expect(html).not.toContain('Unexpected Application Error');
  });
});
