import { lazy, StrictMode, Suspense, type ComponentType } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { getSession } from './auth/api/auth-api.ts';
import { redirectToLogin } from './auth/hooks/access.tsx';
import { onCsrfRefresh, onUnauthorized } from './common/api/client.ts';
import { basenameOf, hashRouteTarget } from './common/api/project-paths.ts';
import { Layout, NotFoundPage } from './common/components/Layout.tsx';
import { Loading } from './common/components/ui.tsx';

/** Every page is its own chunk: the first paint only loads the page asked for. */
function page(load: () => Promise<{ default: ComponentType }>) {
  const Component = lazy(load);
  return (
    <Suspense fallback={<Loading />}>
      <Component />
    </Suspense>
  );
}

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

// One element for both tabs of an experiment (runs, traces), so switching tabs keeps the page.
const experimentPage = page(() => import('./experiments/components/ExperimentPage.tsx'));

const router = createBrowserRouter(
  [
    { path: '/login', element: page(() => import('./auth/components/LoginPage.tsx')) },
    {
      path: '/',
      element: <Layout />,
      children: [
        { index: true, element: <Navigate to="/experiments" replace /> },
        { path: 'experiments', element: page(() => import('./experiments/components/ExperimentsPage.tsx')) },
        { path: 'experiments/:experimentId', element: experimentPage },
        { path: 'experiments/:experimentId/traces', element: experimentPage },
        { path: 'experiments/:experimentId/traces/:traceId', element: page(() => import('./traces/components/TracePage.tsx')) },
        { path: 'experiments/:experimentId/runs/:runId', element: page(() => import('./runs/components/RunPage.tsx')) },
        { path: 'compare', element: page(() => import('./compare/components/ComparePage.tsx')) },
        { path: 'models', element: page(() => import('./models/components/ModelsPage.tsx')) },
        { path: 'models/:modelName', element: page(() => import('./models/components/ModelPage.tsx')) },
        { path: 'models/:modelName/versions/:version', element: page(() => import('./models/components/VersionPage.tsx')) },
        { path: 'members', element: page(() => import('./projects/components/MembersPage.tsx')) },
        { path: 'tokens', element: page(() => import('./projects/components/TokensPage.tsx')) },
        { path: 'webhooks', element: page(() => import('./projects/components/WebhooksPage.tsx')) },
        { path: 'webhooks/:webhookId', element: page(() => import('./projects/components/WebhookPage.tsx')) },
        { path: 'audit', element: page(() => import('./projects/components/AuditPage.tsx')) },
        { path: 'settings', element: page(() => import('./projects/components/SettingsPage.tsx')) },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ],
  { basename },
);

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
