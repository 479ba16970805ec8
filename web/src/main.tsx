import { lazy, StrictMode, Suspense, type ComponentType } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
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
if (window.location.hash.startsWith('#/')) window.history.replaceState(null, '', window.location.hash.slice(1));

const router = createBrowserRouter([
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/experiments" replace /> },
      { path: 'experiments', element: page(() => import('./experiments/components/ExperimentsPage.tsx')) },
      { path: 'experiments/:experimentId', element: page(() => import('./experiments/components/ExperimentPage.tsx')) },
      { path: 'experiments/:experimentId/runs/:runId', element: page(() => import('./runs/components/RunPage.tsx')) },
      { path: 'compare', element: page(() => import('./compare/components/ComparePage.tsx')) },
      { path: 'models', element: page(() => import('./models/components/ModelsPage.tsx')) },
      { path: 'models/:modelName', element: page(() => import('./models/components/ModelPage.tsx')) },
      { path: 'models/:modelName/versions/:version', element: page(() => import('./models/components/VersionPage.tsx')) },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
