import { CopyButton } from './ui.tsx';

/** How to point the MLflow client at this server; the origin is the page's own. */
export function clientSnippet(origin: string, experimentName = 'my-experiment'): string {
  return [
    `export MLFLOW_TRACKING_URI=${origin}`,
    '',
    'python - <<\'EOF\'',
    'import mlflow',
    `mlflow.set_experiment("${experimentName}")`,
    'with mlflow.start_run():',
    '    mlflow.log_param("lr", 0.01)',
    '    for step in range(100):',
    '        mlflow.log_metric("loss", 1 / (step + 1), step=step)',
    'EOF',
  ].join('\n');
}

export function ClientSnippet({ experimentName }: { experimentName?: string }) {
  const text = clientSnippet(window.location.origin, experimentName);
  return (
    <div className="snippet">
      <p>
        Trove speaks the MLflow REST API. Point the MLflow client (or any tool built on it) here with <code>MLFLOW_TRACKING_URI</code>:
      </p>
      <pre className="code-block" aria-label="MLflow client setup">
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label="Copy snippet" />
    </div>
  );
}
