import { expect, test, type Page } from '@playwright/test';
import { mlflowPost, screenshot } from './support.ts';

test.describe.configure({ mode: 'serial' });

/** A wide experiment of its own (40 params) with three runs, one of them deleted, made over the REST API. */
interface Wide {
  experimentId: string;
  name: string;
  runIds: string[];
  deletedId: string;
}
let wide: Wide;

test.beforeAll(async () => {
  const name = `e2e-wide-${Date.now()}`;
  const { experiment_id: experimentId } = (await mlflowPost('experiments/create', { name })) as { experiment_id: string };
  await mlflowPost('experiments/set-experiment-tag', { experiment_id: experimentId, key: 'mlflow.note.content', value: 'Forty **params** per run.' });
  await mlflowPost('experiments/set-experiment-tag', { experiment_id: experimentId, key: 'owner', value: 'tables-team' });
  const runIds: string[] = [];
  const start = Date.now() - 12 * 60_000;
  for (let i = 0; i < 3; i++) {
    const { run } = (await mlflowPost('runs/create', { experiment_id: experimentId, run_name: `wide-${i}`, start_time: start + i * 1000 })) as { run: { info: { run_id: string } } };
    const runId = run.info.run_id;
    runIds.push(runId);
    await mlflowPost('runs/log-batch', {
      run_id: runId,
      params: Array.from({ length: 40 }, (_, p) => ({ key: `param_${String(p).padStart(2, '0')}`, value: `value-${i}-${p}` })),
      metrics: Array.from({ length: 5 }, (_, s) => ({ key: 'accuracy', value: 0.5 + i / 10 + s / 100, timestamp: start + s, step: s })),
      tags: [{ key: 'group', value: i === 2 ? 'b' : 'a' }],
    });
    await mlflowPost('runs/update', { run_id: runId, status: 'FINISHED', end_time: start + i * 1000 + 60_000 });
  }
  await mlflowPost('runs/delete', { run_id: runIds[2] });
  wide = { experimentId, name, runIds, deletedId: runIds[2] as string };
});

const grid = (page: Page) => page.getByRole('table', { name: 'Runs' });

test('the run name and selection columns stay in view when the runs table scrolls sideways', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}`);
  const table = grid(page);
  const name = table.getByRole('link', { name: 'wide-0' });
  await expect(name).toBeVisible();
  const box = await table.boundingBox();
  if (!box) throw new Error('no table box');
  await table.evaluate((el) => {
    el.scrollLeft = el.scrollWidth;
  });
  await expect.poll(() => table.evaluate((el) => el.scrollLeft)).toBeGreaterThan(500);
  // Scrolled far right: a late param column is on screen, and the name and checkbox are still at the left edge.
  await expect(table.getByRole('columnheader', { name: /param_09/ })).toBeInViewport();
  const nameBox = await name.boundingBox();
  const check = table.getByRole('checkbox', { name: 'Select wide-0' });
  const checkBox = await check.boundingBox();
  expect(nameBox && nameBox.x >= box.x && nameBox.x < box.x + 300).toBe(true);
  expect(checkBox && checkBox.x >= box.x && checkBox.x < box.x + 40).toBe(true);
  await expect(name).toBeInViewport();
  // What is pinned covers what scrolls under it: the name cell is the element at its own position.
  const covered = await name.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return document.elementFromPoint(r.left + 5, r.top + r.height / 2)?.closest('a') === el;
  });
  expect(covered).toBe(true);
  await screenshot(page, 'runs-pinned');
});

test('start times read relative in the table with the full time and timezone on hover', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}`);
  const row = grid(page).getByRole('row').filter({ has: page.getByRole('link', { name: 'wide-0' }) });
  const time = row.locator('time');
  await expect(time).toHaveText(/^1[234] minutes ago$/);
  await expect(time).toHaveAttribute('title', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/);
  // The experiments list uses the same format.
  await page.goto('/');
  const expRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: wide.name }) });
  await expect(expRow.locator('time').first()).toHaveText(/just now|minutes? ago/);
  await expect(expRow.locator('time').first()).toHaveAttribute('title', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/);
});

test('the experiments list shows each experiment’s description and tags', async ({ page }) => {
  await page.goto('/');
  const expRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: wide.name }) });
  await expect(expRow).toContainText('Forty params per run.');
  await expect(expRow).toContainText('owner=tables-team');
  await screenshot(page, 'experiments-description-tags');
});

test('the filter box completes keys, operators and values, explains the syntax and remembers searches', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}`);
  await expect(grid(page).getByRole('link', { name: 'wide-0' })).toBeVisible();
  const box = page.getByLabel('Filter runs (MLflow search syntax)');
  await box.click();
  const list = page.getByRole('listbox', { name: 'Filter suggestions' });
  await expect(list.getByRole('option', { name: /^metrics\./ })).toBeVisible();
  await box.pressSequentially('params.param_0');
  await expect(list.getByRole('option', { name: /params\.param_05/ })).toBeVisible();
  await box.pressSequentially('5');
  await box.press('ArrowDown');
  await box.press('Enter');
  await expect(box).toHaveValue('params.param_05 ');
  // Operators for a string key, then the values seen in the experiment.
  await expect(list.getByRole('option', { name: /^LIKE/ })).toBeVisible();
  await list.getByRole('option', { name: /^=/ }).first().click();
  await expect(box).toHaveValue('params.param_05 = ');
  await expect(list.getByRole('option', { name: 'value-1-5' })).toBeVisible();
  await screenshot(page, 'filter-autocomplete');
  await list.getByRole('option', { name: 'value-1-5' }).click();
  await expect(box).toHaveValue("params.param_05 = 'value-1-5' ");
  await box.press('Enter');
  await expect(page).toHaveURL(/filter=/);
  await expect(grid(page).getByRole('link', { name: 'wide-1' })).toBeVisible();
  await expect(grid(page).getByRole('link', { name: 'wide-0' })).toHaveCount(0);

  // Syntax help with examples that fill the box.
  await page.getByRole('button', { name: 'Search syntax help' }).click();
  const help = page.getByRole('dialog', { name: 'Filter syntax' });
  await expect(help).toContainText('ILIKE');
  await help.getByRole('button', { name: 'metrics.accuracy > 0.9' }).click();
  await expect(box).toHaveValue('metrics.accuracy > 0.9');

  // Recent searches come back in an empty box.
  await box.fill('');
  await box.focus();
  const recent = list.getByRole('option', { name: "params.param_05 = 'value-1-5'" });
  await expect(recent).toBeVisible();
  await expect(list).toContainText('Recent searches');
});

test('deleted runs are marked as deleted and can be restored from the list', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}?lifecycle=ALL`);
  const row = grid(page).getByRole('row').filter({ has: page.getByRole('link', { name: 'wide-2' }) });
  await expect(row.getByText('deleted', { exact: true }).first()).toBeVisible();
  await expect(grid(page).getByRole('row').filter({ has: page.getByRole('link', { name: 'wide-0' }) }).getByText('deleted', { exact: true })).toHaveCount(0);
  await screenshot(page, 'runs-deleted');
  await row.getByRole('button', { name: 'Restore wide-2' }).click();
  await expect(row.getByRole('button', { name: 'Restore wide-2' })).toHaveCount(0);
  const res = await fetch(`${process.env.TROVE_E2E_URL}/api/2.0/mlflow/runs/get?run_id=${wide.deletedId}`);
  const body = (await res.json()) as { run: { info: { lifecycle_stage: string } } };
  expect(body.run.info.lifecycle_stage).toBe('active');
});

test('charts show no idle "step: --" legend, and values only under the cursor', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}?view=chart`);
  const chart = page.locator('.chart').first();
  await expect(chart.locator('canvas')).toBeVisible();
  const legend = chart.locator('.u-legend');
  await expect(legend.locator('.u-value')).not.toHaveCount(0);
  await expect(legend.locator('.u-value:visible')).toHaveCount(0);
  await expect(legend.getByText('wide-0')).toBeVisible();
  await expect(legend.locator('.u-series').first()).toBeHidden();
  const box = await chart.locator('.u-over').boundingBox();
  if (!box) throw new Error('no plot area');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(legend.locator('.u-series').first()).toBeVisible();
  await expect(legend.locator('.u-value:visible').first()).toHaveText(/\d/);
});

test('the Connect client snippet logs into the experiment being viewed', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}`);
  await expect(page.getByRole('heading', { name: wide.name })).toBeVisible();
  await page.getByRole('button', { name: 'Connect MLflow client' }).click();
  await expect(page.getByLabel('MLflow client setup')).toContainText(`mlflow.set_experiment("${wide.name}")`);
});

test('the runs table is driven by the keyboard: j/k move, x selects, Enter opens the run', async ({ page }) => {
  await page.goto(`/experiments/${wide.experimentId}`);
  const table = grid(page);
  await expect(table.getByRole('link', { name: 'wide-0' })).toBeVisible();
  await table.focus();
  await page.keyboard.press('j');
  const rows = table.locator('.vtable-row');
  await expect(rows.nth(0)).toHaveClass(/active/);
  await page.keyboard.press('j');
  await expect(rows.nth(1)).toHaveClass(/active/);
  await page.keyboard.press('k');
  await expect(rows.nth(0)).toHaveClass(/active/);
  await page.keyboard.press('x');
  const firstName = (await rows.nth(0).locator('.cell-name a').textContent()) ?? '';
  await expect(table.getByRole('checkbox', { name: `Select ${firstName}` })).toBeChecked();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/experiments/${wide.experimentId}/runs/`));
  await expect(page.getByRole('heading', { name: new RegExp(firstName) })).toBeVisible();
});
