import { expect, test, type Page } from '@playwright/test';
import { mlflowPost, screenshot } from './support.ts';

test.describe.configure({ mode: 'serial' });

/** Two experiments of their own, over the REST API: four runs in A (one started three days ago), one in B. */
let expA: { id: string; name: string };
let expB: { id: string; name: string };

async function makeRun(experimentId: string, name: string, startTime: number, params: Record<string, string>, tags: Record<string, string>, losses: number[], accuracy: number): Promise<string> {
  const { run } = (await mlflowPost('runs/create', { experiment_id: experimentId, run_name: name, start_time: startTime })) as { run: { info: { run_id: string } } };
  const runId = run.info.run_id;
  await mlflowPost('runs/log-batch', {
    run_id: runId,
    params: Object.entries(params).map(([key, value]) => ({ key, value })),
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    metrics: [...losses.map((value, step) => ({ key: 'loss', value, timestamp: startTime + step, step })), { key: 'accuracy', value: accuracy, timestamp: startTime, step: 0 }],
  });
  await mlflowPost('runs/update', { run_id: runId, status: 'FINISHED', end_time: startTime + 60_000 });
  return runId;
}

test.beforeAll(async () => {
  const stamp = Date.now();
  const a = (await mlflowPost('experiments/create', { name: `e2e-parity-${stamp}` })) as { experiment_id: string };
  const b = (await mlflowPost('experiments/create', { name: `e2e-parity-other-${stamp}` })) as { experiment_id: string };
  expA = { id: a.experiment_id, name: `e2e-parity-${stamp}` };
  expB = { id: b.experiment_id, name: `e2e-parity-other-${stamp}` };
  const now = Date.now();
  await makeRun(expA.id, 'alpha', now - 30 * 60_000, { lr: '0.1' }, { team: 'red' }, [1, 0.5, 0.3], 0.7);
  await makeRun(expA.id, 'beta', now - 20 * 60_000, { lr: '0.1' }, { team: 'blue' }, [1, 0.4, 0.2], 0.8);
  await makeRun(expA.id, 'gamma', now - 10 * 60_000, { lr: '0.01' }, { team: 'red' }, [1, 0.8, 0.6], 0.6);
  await makeRun(expA.id, 'ancient', now - 3 * 86400_000, { lr: '0.01' }, { team: 'blue' }, [2, 1.5, 1.2], 0.5);
  await makeRun(expB.id, 'other-run', now - 5 * 60_000, { lr: '0.5' }, {}, [0.9, 0.1], 0.9);
});

const grid = (page: Page) => page.getByRole('table', { name: 'Runs' });
const names = (page: Page) => grid(page).locator('.vtable-row .cell-name a');

test('the sort menu orders the runs by any column, either way', async ({ page }) => {
  await page.goto(`/experiments/${expA.id}`);
  await expect(names(page)).toHaveText(['gamma', 'beta', 'alpha', 'ancient']);
  await page.getByLabel('Sort by').selectOption('metrics.loss');
  await page.getByLabel('Sort direction').selectOption('asc');
  await expect(names(page)).toHaveText(['beta', 'alpha', 'gamma', 'ancient']);
  await page.getByLabel('Sort direction').selectOption('desc');
  await expect(names(page)).toHaveText(['ancient', 'gamma', 'alpha', 'beta']);
});

test('a time range keeps only the runs started within it', async ({ page }) => {
  await page.goto(`/experiments/${expA.id}`);
  await expect(names(page)).toHaveCount(4);
  await page.getByLabel('Started').selectOption('24h');
  await expect(page).toHaveURL(/since=24h/);
  await expect(names(page)).toHaveText(['gamma', 'beta', 'alpha']);
});

test('grouping by a param shows one aggregate row per value that expands to its runs', async ({ page }) => {
  await page.goto(`/experiments/${expA.id}`);
  await page.getByLabel('Group by').selectOption('params.lr');
  const table = grid(page);
  const group = table.getByRole('row').filter({ hasText: 'lr = 0.1' });
  await expect(group).toContainText('(2 runs)');
  // The mean of alpha's and beta's latest accuracy (0.7, 0.8).
  const accuracyCell = group.getByRole('cell').filter({ hasText: /^mean/ }).first();
  await expect(accuracyCell).toBeVisible();
  await expect(group).toContainText('mean0.75');
  await page.getByLabel('Aggregate').selectOption('max');
  await expect(group).toContainText('max0.8');
  await expect(table.getByRole('link', { name: 'alpha' })).toHaveCount(0);
  await table.getByRole('button', { name: 'Expand group lr = 0.1' }).click();
  await expect(table.getByRole('link', { name: 'alpha' })).toBeVisible();
  await expect(table.getByRole('link', { name: 'beta' })).toBeVisible();
  await expect(table.getByRole('link', { name: 'gamma' })).toHaveCount(0);
  await screenshot(page, 'runs-grouped');
});

test('run colours and visibility are shared by the table and the charts', async ({ page }) => {
  await page.goto(`/experiments/${expA.id}`);
  await grid(page).getByLabel('Colour of alpha').fill('#ff0000');
  await expect(page).toHaveURL(/colors=/);
  await grid(page).getByRole('button', { name: 'Hide gamma in charts' }).click();
  await expect(grid(page).getByRole('button', { name: 'Show gamma in charts' })).toBeVisible();
  await page.getByRole('button', { name: 'Charts', exact: true }).click();
  await page.getByRole('button', { name: 'Add chart' }).click();
  await page.getByLabel('Chart metric').selectOption('accuracy');
  await page.getByLabel('Chart type').selectOption('bar');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const bars = page.getByRole('figure', { name: 'Bar chart of accuracy' }).getByRole('list', { name: 'Latest accuracy per run' });
  await expect(bars.getByRole('listitem')).toHaveCount(3);
  await expect(bars).not.toContainText('gamma');
  const alphaBar = bars.getByRole('listitem').filter({ hasText: 'alpha' }).locator('.bar');
  await expect(alphaBar).toHaveCSS('background-color', 'rgb(255, 0, 0)');
  // The line charts draw the same runs.
  await expect(page.getByRole('figure', { name: 'Chart of loss' }).locator('canvas')).toBeVisible();
  await expect(page.getByRole('figure', { name: 'Chart of loss' }).locator('.u-legend')).not.toContainText('gamma');
  await screenshot(page, 'charts-workspace');
});

test('the charts workspace: search, sections, resize, fullscreen, drag, remove — kept in the URL', async ({ page }) => {
  await page.goto(`/experiments/${expA.id}?view=chart`);
  const loss = page.getByRole('figure', { name: 'Chart of loss' });
  const accuracy = page.getByRole('figure', { name: 'Chart of accuracy' });
  await expect(loss).toBeVisible();
  await expect(accuracy).toBeVisible();
  await page.getByLabel('Search charts').fill('los');
  await expect(accuracy).toHaveCount(0);
  await expect(loss).toBeVisible();
  await page.getByLabel('Search charts').fill('');

  await page.getByLabel('New section name').fill('Bars');
  await page.getByRole('button', { name: 'Add section' }).click();
  const bars = page.getByRole('region', { name: 'Section Bars' });
  await expect(bars).toContainText('No charts');
  // Drag the accuracy chart into the new section.
  await accuracy.locator('.drag-handle').dragTo(bars);
  await expect(bars.getByRole('figure', { name: 'Chart of accuracy' })).toBeVisible();

  await loss.getByRole('button', { name: 'Wider chart loss' }).click();
  await expect(loss).toHaveClass(/span-2/);
  // Drag the bottom edge 120 px down: 260 → 380 px tall.
  const handle = loss.getByRole('separator', { name: 'Resize chart loss' });
  await expect(handle).toHaveAttribute('aria-valuenow', '260');
  const edge = await handle.boundingBox();
  if (!edge) throw new Error('no resize handle');
  await page.mouse.move(edge.x + edge.width / 2, edge.y + edge.height / 2);
  await page.mouse.down();
  await page.mouse.move(edge.x + edge.width / 2, edge.y + edge.height / 2 + 60, { steps: 4 });
  await page.mouse.move(edge.x + edge.width / 2, edge.y + edge.height / 2 + 120, { steps: 4 });
  await page.mouse.up();
  await expect(handle).toHaveAttribute('aria-valuenow', '380');
  await loss.getByRole('button', { name: 'Fullscreen chart loss' }).click();
  await expect(loss).toHaveClass(/chart-fullscreen/);
  await loss.getByRole('button', { name: 'Exit fullscreen chart loss' }).click();
  await expect(loss).not.toHaveClass(/chart-fullscreen/);

  // The layout is in the URL: a reload (or the link) shows the same workspace.
  await page.reload();
  await expect(page.getByRole('region', { name: 'Section Bars' }).getByRole('figure', { name: 'Chart of accuracy' })).toBeVisible();
  await expect(page.getByRole('figure', { name: 'Chart of loss' })).toHaveClass(/span-2/);
  await expect(page.getByRole('separator', { name: 'Resize chart loss' })).toHaveAttribute('aria-valuenow', '380');
  await page.getByRole('button', { name: 'Remove chart loss' }).click();
  await expect(page.getByRole('figure', { name: 'Chart of loss' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Remove section Bars' }).click();
  await expect(page.getByRole('region', { name: 'Section Bars' })).toHaveCount(0);
});

test('a saved view brings back filter, sort and grouping, and its link shows the same to anyone', async ({ page, context }) => {
  await page.goto(`/experiments/${expA.id}`);
  await page.getByLabel('Filter runs (MLflow search syntax)').fill("tags.team = 'red'");
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.getByLabel('Sort by').selectOption('metrics.accuracy');
  await expect(names(page)).toHaveText(['alpha', 'gamma']);
  await page.getByRole('button', { name: /^Views/ }).click();
  await page.getByLabel('View name').fill('red team');
  await page.getByRole('button', { name: 'Save view' }).click();
  const link = await page.getByLabel('Link to this view').inputValue();
  expect(link).toContain('cols=');

  await page.goto(`/experiments/${expA.id}`);
  await expect(names(page)).toHaveCount(4);
  await page.getByRole('button', { name: /^Views/ }).click();
  await page.getByRole('button', { name: 'red team', exact: true }).click();
  await expect(names(page)).toHaveText(['alpha', 'gamma']);
  await expect(page.getByLabel('Filter runs (MLflow search syntax)')).toHaveValue("tags.team = 'red'");

  // Another person (no saved state) opening the link sees the same runs in the same order.
  const other = await context.browser()?.newContext({ baseURL: undefined });
  const otherPage = other ? await other.newPage() : await context.newPage();
  await otherPage.goto(link);
  await expect(otherPage.getByRole('table', { name: 'Runs' }).locator('.vtable-row .cell-name a')).toHaveText(['alpha', 'gamma']);
  await other?.close();
});

test('runs of several experiments are shown in one table', async ({ page }) => {
  await page.goto(`/experiments/${expA.id}`);
  await expect(names(page)).toHaveCount(4);
  await page.getByRole('button', { name: /^Experiments/ }).click();
  await page.getByRole('dialog', { name: 'Show runs of other experiments' }).getByLabel(expB.name).check();
  await expect(page).toHaveURL(new RegExp(`exps=${expB.id}`));
  await expect(grid(page).getByRole('link', { name: 'other-run' })).toBeVisible();
  await expect(names(page)).toHaveCount(5);
  await expect(grid(page).getByRole('row').filter({ hasText: 'other-run' })).toContainText(`#${expB.id}`);
});

test('experiments picked in the experiments list open as one runs table', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(`Select ${expA.name}`).check();
  await page.getByLabel(`Select ${expB.name}`).check();
  await page.getByRole('button', { name: 'Runs of selected (2)' }).click();
  await expect(page).toHaveURL(/exps=/);
  await expect(grid(page).getByRole('link', { name: 'other-run' })).toBeVisible();
  await expect(grid(page).getByRole('link', { name: 'alpha' })).toBeVisible();
});
