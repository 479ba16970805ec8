import { expect, test, type Page } from '@playwright/test';
import { ids, screenshot, serverUrl } from './support.ts';

test.describe.configure({ mode: 'serial' });

/** GET on the MLflow REST API (what the client calls). */
async function mlflowGet<T>(pathName: string, query: Record<string, string>): Promise<T> {
  const res = await fetch(`${serverUrl()}/api/2.0/mlflow/${pathName}?${new URLSearchParams(query).toString()}`);
  if (!res.ok) throw new Error(`${pathName}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface RunInfo {
  run: { info: { run_id: string; experiment_id: string; user_id: string; artifact_uri: string } };
}

async function clipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

test('ids sit on one line with a middle ellipsis, copy in full and link to their pages', async ({ page, context }) => {
  const f = ids();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { run } = await mlflowGet<RunInfo>('runs/get', { run_id: f.model_run_id });
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}`);

  const runId = page.locator(`.copyable-id[data-value="${f.model_run_id}"]`).first();
  await expect(runId).toBeVisible();
  await runId.getByRole('button', { name: 'Copy run ID' }).click();
  await expect.poll(() => clipboard(page)).toBe(f.model_run_id);

  // The artifact URI is longer than its column: one line, its end kept, its middle elided.
  const uri = page.locator(`.copyable-id[data-value="${run.info.artifact_uri}"]`);
  const box = await uri.boundingBox();
  expect(box?.height ?? 0).toBeLessThan(30);
  const head = uri.locator('.id-head');
  expect(await head.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  await expect(uri.locator('.id-tail')).toHaveText(run.info.artifact_uri.slice(-8));
  await expect(uri).toHaveAttribute('title', run.info.artifact_uri);
  await uri.getByRole('button', { name: 'Copy artifact URI' }).click();
  await expect.poll(() => clipboard(page)).toBe(run.info.artifact_uri);
  await screenshot(page, 'run-ids');

  // The logged model's id links to its MLmodel in the artifacts tab.
  const models = page.locator('section', { has: page.getByRole('heading', { name: 'Logged models' }) });
  const modelId = models.locator('.copyable-id').first();
  await expect(modelId).toHaveAttribute('data-value', /^m-/);
  await modelId.getByRole('link').click();
  await expect(page).toHaveURL(/tab=artifacts&file=.*MLmodel/);
  await expect(page.getByTestId('mlmodel')).toContainText('sklearn');

  // The artifact URI links to the run's artifacts.
  await page.getByRole('tab', { name: 'Overview' }).click();
  await uri.getByRole('link').click();
  await expect(page).toHaveURL(/tab=artifacts/);
  await expect(page.getByRole('tree', { name: 'Artifacts' })).toBeVisible();
});

test('the selected artifact is in the URL, opens from a link, shows its path, and a missing one says not found', async ({ page, context }) => {
  const f = ids();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}?tab=artifacts`);
  const tree = page.getByRole('tree', { name: 'Artifacts' });
  await tree.getByRole('button', { name: /notes\.txt/ }).click();
  await expect(page).toHaveURL(/file=[^&]*notes\.txt/);
  const notesUrl = page.url();

  // A nested file opened from its link: the tree opens down to it and the preview shows it.
  const curveUrl = notesUrl.replace('notes.txt', encodeURIComponent('plots/curve.png'));
  await page.goto(curveUrl);
  await expect(page.locator('img.preview-image')).toBeVisible();
  await expect(tree.getByRole('treeitem', { selected: true })).toContainText('curve.png');
  const path = page.locator('.preview-head .copyable-id');
  await expect(path).toHaveAttribute('data-value', 'plots/curve.png');
  await path.getByRole('button', { name: 'Copy artifact path' }).click();
  await expect.poll(() => clipboard(page)).toBe('plots/curve.png');
  await screenshot(page, 'artifact-linked');

  // Back to the text file: the browser's history follows the selection.
  await page.goBack();
  await expect(page).toHaveURL(notesUrl);
  await page.reload();
  await expect(page.locator('.preview pre')).toContainText('plain text notes');

  await page.goto(notesUrl.replace('notes.txt', 'missing.png'));
  await expect(page.locator('[data-preview-kind="missing"]')).toContainText('Artifact not found');
  await expect(page.locator('img.preview-image')).toHaveCount(0);
});

test('system tags are read-only in their own group; the user’s tags stay editable', async ({ page }) => {
  const f = ids();
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}`);
  const tags = page.getByRole('table', { name: 'Tags', exact: true });
  await expect(tags).toContainText('team');
  await expect(tags).not.toContainText('mlflow.');
  await expect(page.getByRole('button', { name: 'Edit tag team' })).toBeVisible();
  const system = page.getByRole('table', { name: 'System tags' });
  await expect(system).toContainText('mlflow.runName');
  await expect(system).toContainText('mlflow.user');
  await expect(system.getByRole('button')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Edit tag mlflow\./ })).toHaveCount(0);
});

test('Promote from a run of the [model]<name> experiment preselects that model', async ({ page }) => {
  const f = ids();
  const { run } = await mlflowGet<RunInfo>('runs/get', { run_id: f.candidate_run_id });
  await page.goto(`/experiments/${run.info.experiment_id}/runs/${f.candidate_run_id}`);
  await expect(page.getByRole('navigation', { name: 'Breadcrumb' })).toContainText(`[model]${f.model_name}`);
  await page.getByRole('button', { name: 'Promote' }).click();
  const dialog = page.getByRole('dialog', { name: 'Promote run to the model registry' });
  await expect(dialog.getByLabel('Registered model')).toHaveValue(f.model_name);
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // Other experiments preselect nothing.
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}`);
  await page.getByRole('button', { name: 'Promote' }).click();
  await expect(dialog.getByLabel('Registered model')).toHaveValue('');
});

test('the model page shows description and tags without a tab; versions list description and user', async ({ page }) => {
  const f = ids();
  const { run } = await mlflowGet<RunInfo>('runs/get', { run_id: f.model_run_id });
  const res = await fetch(`${serverUrl()}/api/2.0/mlflow/model-versions/update`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: f.model_name, version: f.first_version, description: 'The **baseline** from the sweep.' }),
  });
  expect(res.ok).toBe(true);
  await page.goto(`/models/${f.model_name}`);
  await expect(page.getByRole('tab', { name: /Description/ })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Description' }).locator('strong')).toHaveText('iris');
  await expect(page.getByRole('table', { name: 'Model tags' })).toBeVisible();
  const versions = page.getByRole('table', { name: 'Versions' });
  const row = versions.locator('tr', { hasText: `Version ${f.first_version}` });
  await expect(row).toContainText('The baseline from the sweep.');
  const userColumn = (await versions.locator('thead th').allTextContents()).indexOf('User');
  expect(userColumn).toBeGreaterThan(0);
  expect(run.info.user_id).not.toBe('');
  await expect(row.locator('td').nth(userColumn)).toHaveText(run.info.user_id);
  await screenshot(page, 'model-page');
});

test('the version page shows the model schema and edits its aliases in place', async ({ page }) => {
  const f = ids();
  await page.goto(`/models/${f.model_name}/versions/${f.first_version}`);
  const schema = page.getByTestId('version-schema');
  await expect(schema).toContainText('Inputs');
  await expect(schema).toContainText('sepal length (cm)');
  await expect(schema).toContainText('Outputs');

  const aliases = page.getByRole('region', { name: 'Version aliases' });
  await expect(aliases).toContainText('@production');
  await aliases.getByLabel('Add alias').fill('v2');
  await expect(aliases.getByText('reserved')).toBeVisible();
  await aliases.getByLabel('Add alias').fill('staging');
  await aliases.getByRole('button', { name: 'Add alias' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('@staging');
  await screenshot(page, 'version-page');
  await aliases.getByRole('button', { name: 'Remove alias staging' }).click();
  await expect(page.getByRole('heading', { level: 1 })).not.toContainText('@staging');
  await expect(aliases).toContainText('@production');

  // The source and logged-model ids lead to the version's MLmodel.
  const source = page.locator('.fact', { hasText: 'Logged model' }).locator('.copyable-id');
  await expect(source).toHaveAttribute('data-value', /^m-/);
  await source.getByRole('link').click();
  await expect(page).toHaveURL(/tab=artifacts&file=.*MLmodel/);
  await expect(page.getByTestId('mlmodel')).toContainText('sklearn');
});

test('missing experiments, runs, models and versions each show one not-found page without Retry', async ({ page }) => {
  const f = ids();
  await page.goto('/experiments/999999');
  await expect(page.getByRole('heading', { name: 'Experiment not found' })).toBeVisible();
  await expect(page.getByTestId('not-found')).toContainText('999999');
  await expect(page.getByRole('button', { name: 'Retry' })).toHaveCount(0);
  await expect(page.getByText('No runs in this experiment')).toHaveCount(0);
  await screenshot(page, 'experiment-not-found');

  const cases: Array<[string, string]> = [
    [`/experiments/${f.experiment_id}/runs/0123456789abcdef0123456789abcdef`, 'Run not found'],
    ['/models/no-such-model', 'Model not found'],
    [`/models/${f.model_name}/versions/99`, 'Model version not found'],
    [`/experiments/${f.experiment_id}/traces/tr-0123456789abcdef0123456789abcdef`, 'Trace not found'],
    ['/webhooks/999999', 'Webhook not found'],
  ];
  for (const [url, heading] of cases) {
    await page.goto(url);
    await expect(page.getByRole('heading', { name: heading })).toBeVisible();
    await expect(page.getByTestId('not-found')).toHaveCount(1);
    await expect(page.getByRole('button', { name: 'Retry' })).toHaveCount(0);
  }
});

test('with auth off the Tokens page explains that tokens need --auth', async ({ page }) => {
  await page.goto('/tokens');
  await expect(page.getByTestId('tokens-need-auth')).toContainText('trove server --auth');
  await expect(page.getByText('You do not have access')).toHaveCount(0);
});

test('smoothing draws the raw line faint behind the smoothed one', async ({ page }) => {
  const f = ids();
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}?tab=metrics`);
  const chart = page.locator('figure[data-metric="loss"]');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart).toHaveAttribute('data-series', '1');
  await page.getByRole('group', { name: 'Chart settings' }).getByRole('slider').fill('0.6');
  await expect(chart).toHaveAttribute('data-series', '2');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await screenshot(page, 'run-smoothing');
});
