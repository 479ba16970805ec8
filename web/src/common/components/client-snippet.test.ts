import { describe, expect, it } from 'vitest';
import { clientSnippet } from './ClientSnippet.tsx';

describe('client snippet', () => {
  it('logs into the given experiment, its name quoted as a Python string', () => {
    const text = clientSnippet('http://host:5000', 'team "a" runs');
    expect(text).toContain('mlflow.set_experiment("team \\"a\\" runs")');
    expect(text).toContain('export MLFLOW_TRACKING_URI=http://host:5000');
  });

  it('falls back to a placeholder name with no current experiment', () => {
    expect(clientSnippet('http://host', undefined)).toContain('mlflow.set_experiment("my-experiment")');
  });
});
