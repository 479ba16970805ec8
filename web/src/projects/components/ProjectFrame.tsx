import type { ReactNode } from 'react';
import { NavLink } from 'react-router';
import { useAccess } from '../../auth/hooks/access.tsx';
import { mayOpenProjectPage, projectPages, roleLabel, type ProjectPageId } from '../../auth/utils/capabilities.ts';
import { Breadcrumbs } from '../../common/components/ui.tsx';

/**
 * The frame of the project pages: the project's name, a sub-navigation listing only the pages the
 * user may open, and the page — or a plain refusal when the capabilities say no (a typed-in URL
 * must not show a page of controls that would all fail).
 */
export function ProjectFrame({ page, title, children }: { page: ProjectPageId; title: string; children: ReactNode }) {
  const access = useAccess();
  const capabilities = access?.capabilities;
  const pages = projectPages(capabilities);
  const allowed = mayOpenProjectPage(page, capabilities);
  const role = roleLabel(capabilities);
  return (
    <div className="page">
      <Breadcrumbs items={[{ label: `Project ${access?.project ?? ''}` }, { label: title }]} />
      <div className="page-head">
        <h1>
          {access?.project} {role && <span className="badge badge-role">your role: {role}</span>}
        </h1>
      </div>
      {pages.length > 0 && (
        <nav className="subnav" aria-label="Project pages">
          {pages.map((p) => (
            <NavLink key={p.id} to={p.path}>
              {p.label}
            </NavLink>
          ))}
        </nav>
      )}
      {allowed ? (
        children
      ) : (
        <div className="state state-empty" role="alert">
          You do not have access to {title.toLowerCase()} in this project{role ? ` (your role: ${role})` : ''}.
        </div>
      )}
    </div>
  );
}
