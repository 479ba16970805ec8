import type { ProjectSummary } from '../../auth/utils/capabilities.ts';
import { DEFAULT_PROJECT, projectHome } from '../../common/api/project-paths.ts';

/**
 * The project picker in the header: the projects the user can open (GET .../trove/projects).
 * Choosing one loads its experiments as a new page, so nothing of the previous project stays in
 * memory. With auth off and only the default project there is nothing to choose: hidden.
 */
export function ProjectSwitcher({ projects, current, authEnabled }: { projects: ProjectSummary[]; current: string; authEnabled: boolean }) {
  const known = projects.some((p) => p.name === current);
  if (!authEnabled && projects.length <= 1 && current === DEFAULT_PROJECT) return null;
  return (
    <label className="project-switcher">
      <span className="sr-only">Project</span>
      <select
        value={known ? current : ''}
        onChange={(e) => {
          if (e.target.value && e.target.value !== current) window.location.assign(projectHome(e.target.value));
        }}
      >
        {!known && (
          <option value="" disabled>
            {projects.length === 0 ? 'No projects' : 'Choose a project…'}
          </option>
        )}
        {projects.map((p) => (
          <option key={p.id} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}
