import { useEffect, useSyncExternalStore } from 'react';
import { Link } from 'react-router';
import { useAccess } from '../../auth/hooks/access.tsx';
import { mayOpenProjectPage } from '../../auth/utils/capabilities.ts';
import { projectBase } from '../api/project-paths.ts';
import { CopyButton } from './ui.tsx';

/**
 * How to point the MLflow client at this server: the origin is the page's own, plus the
 * project's base path (`/projects/<name>`; none for the default project). With auth on, the
 * client needs an access token too.
 */
export function clientSnippet(origin: string, experimentName = 'my-experiment', options: { project?: string | undefined; authEnabled?: boolean } = {}): string {
  return [
    `export MLFLOW_TRACKING_URI=${origin}${projectBase(options.project)}`,
    ...(options.authEnabled ? ['export MLFLOW_TRACKING_TOKEN=<your access token>'] : []),
    '',
    'python - <<\'EOF\'',
    'import mlflow',
    // A JSON string is a valid Python string literal (quotes and backslashes escaped).
    `mlflow.set_experiment(${JSON.stringify(experimentName)})`,
    'with mlflow.start_run():',
    '    mlflow.log_param("lr", 0.01)',
    '    for step in range(100):',
    '        mlflow.log_metric("loss", 1 / (step + 1), step=step)',
    'EOF',
  ].join('\n');
}

// The experiment the user is looking at: the snippet (opened from the top bar) logs into it.
let currentExperiment: string | undefined;
const listeners = new Set<() => void>();
function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Marks `name` as the current experiment while the calling page is shown. */
export function useCurrentExperiment(name: string | undefined): void {
  useEffect(() => {
    if (name === undefined) return undefined;
    currentExperiment = name;
    listeners.forEach((l) => l());
    return () => {
      if (currentExperiment === name) currentExperiment = undefined;
      listeners.forEach((l) => l());
    };
  }, [name]);
}

export function ClientSnippet({ experimentName }: { experimentName?: string | undefined }) {
  const access = useAccess();
  const current = useSyncExternalStore(subscribe, () => currentExperiment);
  const authEnabled = access?.session.auth_enabled ?? false;
  const text = clientSnippet(window.location.origin, experimentName ?? current, { project: access?.project, authEnabled });
  return (
    <div className="snippet">
      <p>
        Trove speaks the MLflow REST API. Point the MLflow client (or any tool built on it) here with <code>MLFLOW_TRACKING_URI</code>
        {access && access.project !== 'default' ? (
          <>
            {' '}
            (its path selects project <strong>{access.project}</strong>)
          </>
        ) : null}
        :
      </p>
      <pre className="code-block" aria-label="MLflow client setup">
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label="Copy snippet" />
      {authEnabled && (
        <p className="muted small">
          {mayOpenProjectPage('tokens', access?.capabilities) ? (
            <>
              Create a token under <Link to="/tokens">Project › Access tokens</Link>.
            </>
          ) : (
            'Ask for an access token, or use MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.'
          )}
        </p>
      )}
    </div>
  );
}
