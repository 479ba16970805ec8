import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { getSession, prefetchAccess } from './auth/api/auth-api.ts';
import { redirectToLogin } from './auth/hooks/access.tsx';
import { onCsrfRefresh, onUnauthorized } from './common/api/client.ts';
import { basenameOf, hashRouteTarget } from './common/api/project-paths.ts';
import { Layout, NotFoundPage } from './common/components/Layout.tsx';
import { pageRoute } from './common/components/page-route.ts';
import { prefetchExperiment } from './experiments/api/experiments-api.ts';
import { prefetchRunPage } from './runs/api/run-prefetch.ts';
import { prefetchTrace } from './traces/api/traces-api.ts';

// Links printed by the MLflow client use MLflow's hash routes (/#/experiments/1/runs/…): map them.
const hashTarget = hashRouteTarget(window.location.pathname, window.location.hash);
if (hashTarget) window.history.replaceState(null, '', hashTarget);

// The session is gone (expired, signed out elsewhere): sign in again and come back here.
onUnauthorized(() => redirectToLogin());
onCsrfRefresh(async () => (await getSession()).csrf_token);

/**
 * The page's project is its URL prefix (`/projects/<name>/...`; none for the default project), and
 * the router works below it: every link inside the app stays in the project. Switching projects
 * loads the other project's pages afresh (ProjectSwitcher).
 */
const basename = basenameOf(window.location.pathname) || '/';

// One page for both tabs of an experiment (runs, traces): the same component, so switching tabs keeps its state.
const experimentPage = pageRoute(() => import('./experiments/components/ExperimentPage.tsx'));

const router = createBrowserRouter(
  [
    { path: '/login', ...pageRoute(() => import('./auth/components/LoginPage.tsx')) },
    {
      path: '/',
      element: <Layout />,
      children: [
        { index: true, element: <Navigate to="/experiments" replace /> },
        { path: 'experiments', ...pageRoute(() => import('./experiments/components/ExperimentsPage.tsx')) },
        { path: 'experiments/:experimentId', ...experimentPage },
        { path: 'experiments/:experimentId/traces', ...experimentPage },
        {
          path: 'experiments/:experimentId/traces/:traceId',
          ...pageRoute(
            () => import('./traces/components/TracePage.tsx'),
            ({ experimentId = '', traceId = '' }) => {
              prefetchTrace(traceId);
              prefetchExperiment(experimentId);
            },
          ),
        },
        {
          path: 'experiments/:experimentId/runs/:runId',
          ...pageRoute(
            () => import('./runs/components/RunPage.tsx'),
            ({ experimentId = '', runId = '' }, url) => prefetchRunPage(experimentId, runId, url),
          ),
        },
        { path: 'compare', ...pageRoute(() => import('./compare/components/ComparePage.tsx')) },
        { path: 'models', ...pageRoute(() => import('./models/components/ModelsPage.tsx')) },
        { path: 'models/:modelName', ...pageRoute(() => import('./models/components/ModelPage.tsx')) },
        { path: 'models/:modelName/versions/:version', ...pageRoute(() => import('./models/components/VersionPage.tsx')) },
        { path: 'members', ...pageRoute(() => import('./projects/components/MembersPage.tsx')) },
        { path: 'tokens', ...pageRoute(() => import('./projects/components/TokensPage.tsx')) },
        { path: 'webhooks', ...pageRoute(() => import('./projects/components/WebhooksPage.tsx')) },
        { path: 'webhooks/:webhookId', ...pageRoute(() => import('./projects/components/WebhookPage.tsx')) },
        { path: 'audit', ...pageRoute(() => import('./projects/components/AuditPage.tsx')) },
        { path: 'settings', ...pageRoute(() => import('./projects/components/SettingsPage.tsx')) },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ],
  { basename },
);

// Every page but sign-in sits in the layout: its first requests go out now, not after the first render.
if (!router.state.matches.some((m) => m.route.path === '/login')) prefetchAccess();

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
