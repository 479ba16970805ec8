import { createElement, type ComponentType } from 'react';
import { useRouteError, type LoaderFunctionArgs, type Params, type ShouldRevalidateFunctionArgs } from 'react-router';
import { ErrorBox, Loading } from './ui.tsx';

/** Starts a page's first API requests from its URL (api.prefetch); must not wait for them. */
export type PagePrefetch = (params: Params, url: URL) => void;

/** The route fields that make a page its own chunk, loaded by the router before the page renders. */
export interface PageRoute {
  lazy: () => Promise<{ Component: ComponentType }>;
  HydrateFallback: ComponentType;
  ErrorBoundary: ComponentType;
  loader?: (args: LoaderFunctionArgs) => null;
  shouldRevalidate?: (args: ShouldRevalidateFunctionArgs) => boolean;
}

/**
 * Every page is its own chunk: the first paint only loads the page asked for. The router loads it
 * (route `lazy`) before it renders the page, so there is no Suspense fallback, and no React reveal
 * throttle (~300 ms) after it; on a first load the layout renders meanwhile with `Loading` where the
 * page goes. With `prefetch`, the page's first requests start alongside its chunk instead of after
 * it rendered; they start again only when the path's parameters change (not for a new ?tab=).
 * A page whose code cannot be loaded (a new version was deployed meanwhile) or that fails while
 * rendering shows the error with a Retry that reloads, inside the layout.
 */
export function pageRoute(load: () => Promise<{ default: ComponentType }>, prefetch?: PagePrefetch): PageRoute {
  const route: PageRoute = {
    lazy: async () => ({ Component: (await load()).default }),
    HydrateFallback: Loading,
    ErrorBoundary: PageFailed,
  };
  if (prefetch) {
    route.loader = ({ params, request }) => {
      prefetch(params, new URL(request.url));
      return null;
    };
    route.shouldRevalidate = ({ currentParams, nextParams }) => !sameParams(currentParams, nextParams);
  }
  return route;
}

function sameParams(a: Params, b: Params): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

function PageFailed() {
  const error = useRouteError();
  return createElement('div', { className: 'page' }, createElement(ErrorBox, { error, onRetry: () => window.location.reload() }));
}
