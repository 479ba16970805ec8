import { expect, test } from '@playwright/test';
import { ids, mlflowPost, screenshot } from './support.ts';

test.describe.configure({ mode: 'serial' });

test('experiments list links to an experiment; runs filter, sort and show the server’s filter errors', async ({ page }) => {
  const f = ids();
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Experiments' })).toBeVisible();
  // [model] experiments are hidden until asked for.
  await expect(page.getByRole('link', { name: '[model]iris-classifier' })).toHaveCount(0);
  // The box is controlled by the URL, which React Router updates in a transition: click, then wait.
  await page.getByLabel('Show [model] experiments').click();
  await expect(page.getByLabel('Show [model] experiments')).toBeChecked();
  await expect(page.getByRole('link', { name: '[model]iris-classifier' })).toBeVisible();
  await screenshot(page, 'experiments');

  await page.getByRole('link', { name: f.experiment_name }).click();
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}$`));
  const grid = page.getByRole('table', { name: 'Runs' });
  await expect(grid.getByRole('link', { name: 'sweep' })).toBeVisible();

  // Nested runs: the sweep's children appear when expanded.
  await grid.getByRole('button', { name: /Expand 3 child runs of sweep/ }).click();
  await expect(grid.getByRole('link', { name: 'trial-l1-1.0' })).toBeVisible();
  await screenshot(page, 'experiment-runs');

  // MLflow filter grammar, run by the server.
  await page.getByLabel('Filter runs (MLflow search syntax)').fill("metrics.accuracy > 0.5 and params.penalty = 'l2'");
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/filter=/);
  await expect(grid.getByRole('link', { name: 'trial-l2-1.0' })).toBeVisible();
  await expect(grid.getByRole('link', { name: 'trial-l2-0.1' })).toBeVisible();
  await expect(grid.getByRole('link', { name: 'trial-l1-1.0' })).toHaveCount(0);

  // Sort by the accuracy column, both ways.
  const header = grid.getByRole('columnheader', { name: /accuracy/ });
  await header.getByRole('button').click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  const names = grid.locator('.cell-name a');
  const desc = await names.allTextContents();
  await header.getByRole('button').click();
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(() => names.allTextContents()).toEqual([...desc].reverse());

  // A bad filter shows the server's message.
  await page.getByLabel('Filter runs (MLflow search syntax)').fill('metrics.accuracy >> 1 or x');
  await page.getByRole('button', { name: 'Filter' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('INVALID_PARAMETER_VALUE');
  await screenshot(page, 'filter-error');
});

test('a run page shows overview, a metric chart and artifact previews including the MLmodel signature', async ({ page }) => {
  const f = ids();
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}`);
  await expect(page.getByRole('heading', { name: /trial-l2-1.0/ })).toBeVisible();
  await expect(page.getByText('A **small** sweep')).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Parameters' })).toContainText('penalty');
  await expect(page.getByRole('table', { name: 'Datasets' })).toContainText('iris');

  // Edit the description (stored in mlflow.note.content).
  await page.getByRole('button', { name: 'Edit description' }).click();
  await page.getByLabel('Description (Markdown)').fill('Best **l2** trial.');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.description strong')).toHaveText('l2');

  await page.getByRole('tab', { name: 'Metrics' }).click();
  const chart = page.locator('figure[data-metric="loss"]');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart).toHaveAttribute('data-points', '50');
  await expect(chart.locator('canvas')).toBeVisible();
  await page.getByLabel('Log scale').check();
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await screenshot(page, 'run-metrics');

  await page.getByRole('tab', { name: 'Artifacts' }).click();
  const tree = page.getByRole('tree', { name: 'Artifacts' });
  await tree.getByRole('button', { name: /notes\.txt/ }).click();
  await expect(page.locator('.preview pre')).toContainText('plain text notes');
  await tree.getByRole('button', { name: /predictions\.csv/ }).click();
  await expect(page.locator('.csv-preview td', { hasText: 'vir,ginica' })).toBeVisible();
  await tree.getByRole('button', { name: /config\.json/ }).click();
  await expect(page.locator('.preview pre')).toContainText('"layers"');
  await tree.getByRole('button', { name: 'plots/' }).click();
  await tree.getByRole('button', { name: /curve\.png/ }).click();
  await expect(page.locator('img.preview-image')).toBeVisible();
  await expect.poll(() => page.locator('img.preview-image').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(48);

  // The logged model's MLmodel: flavors, signature and input example.
  await tree.getByRole('button', { name: /^MLmodel/ }).click();
  const mlmodel = page.getByTestId('mlmodel');
  await expect(mlmodel).toContainText('sklearn');
  await expect(mlmodel).toContainText('Signature: inputs');
  await expect(mlmodel).toContainText('sepal length (cm)');
  await expect(mlmodel.locator('pre').first()).toContainText('5.1');
  await screenshot(page, 'run-artifacts-mlmodel');
});

test('comparing two runs overlays their charts and highlights differing params', async ({ page }) => {
  const f = ids();
  await page.goto(`/experiments/${f.experiment_id}`);
  const grid = page.getByRole('table', { name: 'Runs' });
  await grid.getByRole('button', { name: /Expand 3 child runs of sweep/ }).click();
  await grid.getByLabel('Select trial-l2-1.0').check();
  await grid.getByLabel('Select trial-l1-1.0').check();
  await page.getByRole('button', { name: 'Compare (2)' }).click();
  await expect(page.getByRole('heading', { name: 'Compare 2 runs' })).toBeVisible();
  const chart = page.locator('figure[data-metric="accuracy"]');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart).toHaveAttribute('data-points', '100');
  const diff = page.getByRole('table', { name: 'Parameter differences' });
  await expect(diff.locator('tr.differs')).toContainText('penalty');
  await expect(diff.locator('tr:not(.differs)', { hasText: 'solver' })).toBeVisible();
  await expect(page.getByRole('group', { name: 'Parallel coordinates of the compared runs' })).toBeVisible();
  await screenshot(page, 'compare');
});

test('promoting a run creates a version and lands on it', async ({ page }) => {
  const f = ids();
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.child_run_ids[1]}`);
  await page.getByRole('button', { name: 'Promote' }).click();
  const dialog = page.getByRole('dialog', { name: 'Promote run to the model registry' });
  await dialog.getByLabel('Registered model').selectOption(f.model_name);
  await dialog.getByLabel('Artifact path of the model in the run').fill('');
  await dialog.getByLabel('Artifact path of the model in the run').fill('model');
  await dialog.getByLabel('Description (optional, Markdown)').fill('Promoted from the **browser** test.');
  await dialog.getByLabel('Alias (optional, e.g. champion)').fill('latest');
  await expect(dialog.getByText('“latest” is reserved.')).toBeVisible();
  await dialog.getByLabel('Alias (optional, e.g. champion)').fill('challenger');
  await dialog.getByRole('button', { name: 'Promote' }).click();
  await expect(page).toHaveURL(new RegExp(`/models/${f.model_name}/versions/2$`));
  await expect(page.getByRole('heading', { name: /version 2/ })).toContainText('@challenger');
  await expect(page.locator('.description strong')).toHaveText('browser');
  await screenshot(page, 'promoted-version');
});

test('moving the production alias to another version', async ({ page }) => {
  const f = ids();
  await page.goto(`/models/${f.model_name}`);
  const aliases = page.getByRole('region', { name: 'Aliases' });
  await expect(aliases).toContainText('@production → v1');
  await aliases.getByLabel('Alias', { exact: true }).fill('production');
  await aliases.getByLabel('Version for the alias').selectOption('2');
  await aliases.getByRole('button', { name: 'Set alias' }).click();
  await expect(aliases).toContainText('@production → v2');
  const versions = page.locator('table.data-table');
  await expect(versions.locator('tr', { hasText: 'Version 2' })).toContainText('@production');
  await expect(versions.locator('tr', { hasText: 'Version 1' })).not.toContainText('@production');
  await page.getByRole('tab', { name: 'Candidates' }).click();
  await expect(page.getByRole('link', { name: 'candidate-1' })).toBeVisible();
  await screenshot(page, 'model-aliases');
});

test('a metric logged while the page is open appears live', async ({ page }) => {
  const f = ids();
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.live_run_id}?tab=metrics`);
  await expect(page.locator('.live')).toBeVisible();
  const chart = page.locator('figure[data-metric="live_loss"]');
  await expect(chart).toHaveAttribute('data-points', '5');
  const now = Date.now();
  await mlflowPost('runs/log-batch', {
    run_id: f.live_run_id,
    metrics: Array.from({ length: 5 }, (_, i) => ({ key: 'live_loss', value: 0.1 / (i + 1), timestamp: now + i, step: 5 + i })),
  });
  const logged = Date.now();
  await expect(chart).toHaveAttribute('data-points', '10', { timeout: 5000 });
  const seenAfterMs = Date.now() - logged;
  expect(seenAfterMs).toBeLessThan(3000);
  // A metric key that did not exist before shows up too.
  await mlflowPost('runs/log-metric', { run_id: f.live_run_id, key: 'live_new', value: 1, timestamp: Date.now(), step: 0 });
  await expect(page.locator('figure[data-metric="live_new"]')).toBeVisible({ timeout: 5000 });
  await screenshot(page, 'live-run');
});

test('deep links, breadcrumbs, the client snippet and not-found pages', async ({ page }) => {
  const f = ids();
  await page.goto(`/#/experiments/${f.experiment_id}/runs/${f.model_run_id}`);
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}/runs/${f.model_run_id}$`));
  const crumbs = page.getByRole('navigation', { name: 'Breadcrumb' });
  await expect(crumbs).toContainText(f.experiment_name);
  await crumbs.getByRole('link', { name: f.experiment_name }).click();
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}$`));
  await page.getByRole('button', { name: 'Connect MLflow client' }).click();
  await expect(page.getByLabel('MLflow client setup')).toContainText('MLFLOW_TRACKING_URI=http://127.0.0.1');
  await page.keyboard.press('Escape');
  await page.goto('/experiments/999999');
  await expect(page.getByRole('alert')).toContainText('RESOURCE_DOES_NOT_EXIST');
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('with auth off: no sign-in, no project switcher, and the project pages offer everything', async ({ page }) => {
  await page.goto('/experiments');
  await expect(page.getByRole('heading', { name: 'Experiments' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await expect(page.getByRole('combobox', { name: 'Project' })).toHaveCount(0);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Project' }).click();
  await expect(page).toHaveURL(/\/members$/);
  await expect(page.getByText('Authentication is off on this server')).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Project pages' }).getByRole('link')).toHaveText(['Members', 'Webhooks', 'Audit log', 'Settings']);
  await page.getByRole('navigation', { name: 'Project pages' }).getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByLabel('Project name')).toBeDisabled();
  await expect(page.getByRole('region', { name: 'Delete project' })).toHaveCount(0);
});
