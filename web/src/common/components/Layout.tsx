import { useEffect, useMemo, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { getCapabilities, getSession, listProjects, logout } from '../../auth/api/auth-api.ts';
import { AccessProvider, redirectToLogin, type Access } from '../../auth/hooks/access.tsx';
import { needsLogin, projectPages, roleLabel, type ProjectSummary } from '../../auth/utils/capabilities.ts';
import { ProjectSwitcher } from '../../projects/components/ProjectSwitcher.tsx';
import { ApiError } from '../api/client.ts';
import { currentProjectOf, DEFAULT_PROJECT, isLandingPath, projectHome } from '../api/project-paths.ts';
import { useApi } from '../hooks/useApi.ts';
import { ClientSnippet } from './ClientSnippet.tsx';
import { ErrorBox, Loading, Modal } from './ui.tsx';

/**
 * The frame of every page: header (project switcher, navigation, the signed-in user) and, once
 * the session and the capabilities in the page's project are known, the page itself. Pages read
 * what the user may do through useCan()/useAccess().
 */
export function Layout() {
  const [showSnippet, setShowSnippet] = useState(false);
  const location = useLocation();
  const project = currentProjectOf(window.location.pathname);
  const session = useApi((signal) => getSession(signal), []);
  const projects = useApi((signal) => listProjects(signal), []);
  const capabilities = useApi((signal) => getCapabilities(signal), []);

  const mustLogin = needsLogin(session.data);
  useEffect(() => {
    if (mustLogin) redirectToLogin();
  }, [mustLogin]);

  const access: Access | undefined = useMemo(
    () => (session.data && capabilities.data ? { session: session.data, capabilities: capabilities.data, projects: projects.data ?? [], project } : undefined),
    [session.data, capabilities.data, projects.data, project],
  );
  const pages = projectPages(capabilities.data);
  const user = session.data?.auth_enabled ? session.data.user : undefined;

  return (
    <AccessProvider value={access}>
      <div className="app">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="topbar">
          <NavLink to="/" className="brand" aria-label="Trove home">
            <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
              <rect width="32" height="32" rx="6" fill="#1f5fa8" />
              <path d="M7 22l6-8 5 5 7-10" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
            Trove
          </NavLink>
          {projects.data && <ProjectSwitcher projects={projects.data} current={project} authEnabled={session.data?.auth_enabled ?? false} />}
          <nav aria-label="Main">
            <NavLink to="/experiments">Experiments</NavLink>
            <NavLink to="/models">Models</NavLink>
            {pages.length > 0 && (
              <NavLink to={pages[0]!.path} className={() => (pages.some((p) => location.pathname.startsWith(p.path)) ? 'active' : '')}>
                Project
              </NavLink>
            )}
          </nav>
          <button type="button" className="btn btn-small connect" onClick={() => setShowSnippet(true)}>
            Connect MLflow client
          </button>
          {user && (
            <div className="user-menu">
              <span className="user-name" title={roleLabel(capabilities.data) ? `Your role in ${project}: ${roleLabel(capabilities.data)}` : undefined}>
                {user.username}
                {roleLabel(capabilities.data) && <span className="badge badge-role">{roleLabel(capabilities.data)}</span>}
              </span>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  logout()
                    .catch(() => undefined)
                    .finally(() => window.location.assign('/login'));
                }}
              >
                Sign out
              </button>
            </div>
          )}
        </header>
        <main id="main" className="content">
          {mustLogin ? (
            <Loading label="Taking you to the login page…" />
          ) : session.error !== undefined ? (
            <ErrorBox error={session.error} onRetry={session.reload} />
          ) : capabilities.error !== undefined ? (
            <ProjectUnavailable error={capabilities.error} project={project} projects={projects.data} onRetry={capabilities.reload} />
          ) : !access ? (
            <Loading />
          ) : (
            // A new project (a link across projects) remounts the pages.
            <Outlet key={project} />
          )}
        </main>
        {showSnippet && (
          <Modal title="Connect the MLflow client" onClose={() => setShowSnippet(false)}>
            <ClientSnippet />
          </Modal>
        )}
      </div>
    </AccessProvider>
  );
}

/**
 * The page's project cannot be opened: it does not exist, or the user is not a member (the server
 * answers both alike). A user landing on the default project they are not in goes to their first
 * project instead.
 */
function ProjectUnavailable({ error, project, projects, onRetry }: { error: unknown; project: string; projects: ProjectSummary[] | undefined; onRetry: () => void }) {
  const location = useLocation();
  const notFound = error instanceof ApiError && error.status === 404;
  const first = projects?.[0];
  const goElsewhere = notFound && project === DEFAULT_PROJECT && first !== undefined && isLandingPath(location.pathname);
  useEffect(() => {
    if (goElsewhere) window.location.replace(projectHome(first.name));
  }, [goElsewhere, first]);
  if (goElsewhere) return <Loading label={`Opening project ${first.name}…`} />;
  if (!notFound) return <ErrorBox error={error} onRetry={onRetry} />;
  return (
    <div className="page">
      <h1>Project not available</h1>
      <p>
        Project <strong>{project}</strong> does not exist or you are not a member of it.
      </p>
      {projects === undefined ? null : projects.length === 0 ? (
        <p className="muted">You are not a member of any project yet. Ask a project maintainer to add you.</p>
      ) : (
        <>
          <p>Your projects:</p>
          <ul className="plain-list">
            {projects.map((p) => (
              <li key={p.id}>
                <a href={projectHome(p.name)}>{p.name}</a>
                {p.role && <span className="muted small"> · {p.role}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

export function NotFoundPage() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. Go to <NavLink to="/experiments">the experiments</NavLink> or <NavLink to="/models">the model registry</NavLink>.
      </p>
    </div>
  );
}
