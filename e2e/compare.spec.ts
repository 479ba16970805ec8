import { expect, test, type Page } from '@playwright/test';
import { ids, screenshot } from './support.ts';

test.describe.configure({ mode: 'serial' });

/** The three trials of the sweep: penalty l2/l2/l1, C 1.0/0.1/1.0; final loss 0.02, 0.07, 0.12. */
async function openCompare(page: Page): Promise<void> {
  const f = ids();
  await page.goto(`/compare?experiments=${f.experiment_id}&runs=${f.child_run_ids.join(',')}`);
  await expect(page.getByRole('heading', { name: 'Compare 3 runs' })).toBeVisible();
}

/** Drags along a parallel-coordinates axis from one axis position to another (0 = bottom, 1 = top). */
async function brush(page: Page, axis: string, from: number, to: number): Promise<void> {
  const target = page.locator(`rect[data-brush-target="${axis}"]`);
  const box = await target.boundingBox();
  if (!box) throw new Error(`no axis ${axis}`);
  // The target reaches 4 px beyond the axis at both ends.
  const at = (t: number) => box.y + 4 + (1 - t) * (box.height - 8);
  const x = box.x + box.width / 2;
  await page.mouse.move(x, at(from));
  await page.mouse.down();
  await page.mouse.move(x, (at(from) + at(to)) / 2, { steps: 4 });
  await page.mouse.move(x, at(to), { steps: 4 });
  await page.mouse.up();
}

test('the compare page names the experiment; parallel coordinates fill the width with ticks on every axis, loss included, coloured by a chosen metric', async ({ page }) => {
  const f = ids();
  await openCompare(page);
  await expect(page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: f.experiment_name })).toBeVisible();

  const plot = page.getByRole('group', { name: 'Parallel coordinates of the compared runs' });
  const main = await page.locator('main').boundingBox();
  const box = await plot.boundingBox();
  expect(box?.width ?? 0).toBeGreaterThan((main?.width ?? 0) * 0.9);
  await expect(plot.locator('g[data-axis="metrics.loss"]')).toHaveCount(1);
  for (const axis of ['params.C', 'metrics.loss', 'metrics.accuracy']) {
    expect(Number(await plot.locator(`g[data-axis="${axis}"]`).getAttribute('data-ticks'))).toBeGreaterThanOrEqual(3);
  }
  await expect(plot.locator('g[data-axis="params.penalty"]')).toHaveAttribute('data-ticks', '2');
  // Tick labels are painted on a halo: lines do not run through them.
  expect(await plot.locator('.axis-tick.halo').first().evaluate((el) => getComputedStyle(el).paintOrder)).toContain('stroke');

  await expect(page.getByLabel('Colour by')).toHaveValue('metrics.loss');
  await expect(page.getByTestId('color-legend')).toContainText('loss');
  const strokes = await plot.locator('polyline').evaluateAll((lines) => lines.map((l) => l.getAttribute('stroke')));
  expect(new Set(strokes).size).toBe(3);
  await page.getByLabel('Colour by').selectOption('metrics.accuracy');
  await expect(page.getByTestId('color-legend')).toContainText('accuracy');
  await screenshot(page, 'compare-parallel');

  // The axis picker adds and removes axes.
  await page.locator('summary', { hasText: 'Axes' }).click();
  await page.getByRole('group', { name: 'Axes' }).getByLabel('params.solver').uncheck();
  await expect(plot.locator('g[data-axis="params.solver"]')).toHaveCount(0);
});

test('brushing an axis filters the runs shown in the tables and plots', async ({ page }) => {
  await openCompare(page);
  const plot = page.getByRole('group', { name: 'Parallel coordinates of the compared runs' });
  await expect(plot).toHaveAttribute('data-active-runs', '3');
  // The top of the loss axis holds the worst trial (l1, loss 0.12).
  await brush(page, 'metrics.loss', 1, 0.7);
  await expect(plot).toHaveAttribute('data-active-runs', '1');
  await expect(page.getByTestId('brush-status')).toContainText('1 of 3 runs');
  const details = page.getByRole('table', { name: 'Run details' });
  await expect(details.locator('thead th')).toHaveText(['', 'trial-l1-1.0']);
  await expect(page.getByRole('table', { name: 'Parameter differences' }).locator('thead th')).toHaveCount(2);
  await screenshot(page, 'compare-brushed');

  // A second brush narrows further; Clear brushes brings every run back.
  await brush(page, 'params.penalty', 1, 0.7);
  await expect(plot).toHaveAttribute('data-active-runs', '0');
  await page.getByRole('button', { name: 'Clear brushes' }).click();
  await expect(plot).toHaveAttribute('data-active-runs', '3');
  await expect(details.locator('thead th')).toHaveCount(4);
});

test('a focused axis is brushed from the keyboard: arrows move the range, Shift+arrows resize it, Escape clears it', async ({ page }) => {
  await openCompare(page);
  const plot = page.getByRole('group', { name: 'Parallel coordinates of the compared runs' });
  await expect(plot).toHaveAttribute('data-active-runs', '3');
  // Screen readers reach each axis's brush as a slider that says what it selects.
  const loss = page.getByRole('slider', { name: 'Brush loss' });
  await expect(loss).toHaveAttribute('aria-valuetext', 'no range selected');
  await loss.focus();
  await expect(loss).toBeFocused();
  // Loss 0.02, 0.07, 0.12 sit at the bottom, middle and top of the axis; a new brush covers the middle.
  await page.keyboard.press('ArrowUp');
  await expect(loss).toHaveAttribute('data-brush', '0.400-0.600');
  await expect(loss).toHaveAttribute('aria-valuetext', 'from 0.06 to 0.08');
  await expect(plot).toHaveAttribute('data-active-runs', '1');
  await expect(page.getByTestId('brush-status')).toContainText('1 of 3 runs');
  // Moved up to the top of the axis: only the worst trial (l1, loss 0.12) is left.
  for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowUp');
  await expect(loss).toHaveAttribute('data-brush', '0.800-1.000');
  await expect(page.getByRole('table', { name: 'Run details' }).locator('thead th')).toHaveText(['', 'trial-l1-1.0']);
  // Grown (held at the top of the axis) down past the middle: two runs; shrunk from both ends: only the middle one.
  for (let i = 0; i < 14; i++) await page.keyboard.press('Shift+ArrowUp');
  await expect(loss).toHaveAttribute('data-brush', '0.450-1.000');
  await expect(plot).toHaveAttribute('data-active-runs', '2');
  await page.keyboard.press('Shift+ArrowDown');
  await expect(loss).toHaveAttribute('data-brush', '0.475-0.975');
  await expect(plot).toHaveAttribute('data-active-runs', '1');
  await expect(page.getByRole('table', { name: 'Run details' }).locator('thead th')).not.toHaveText(['', 'trial-l1-1.0']);
  await screenshot(page, 'compare-keyboard-brush');
  await page.keyboard.press('Escape');
  await expect(loss).not.toHaveAttribute('data-brush', /./);
  await expect(plot).toHaveAttribute('data-active-runs', '3');
});

test('run details, param and metric pickers, a large scatter, box plots and a contour plot', async ({ page }) => {
  const f = ids();
  await openCompare(page);
  const details = page.getByRole('table', { name: 'Run details' });
  for (const id of f.child_run_ids) await expect(details.locator(`.copyable-id[data-value="${id}"]`)).toHaveCount(1);
  await expect(details).toContainText('finished');

  await page.locator('summary', { hasText: /^Params/ }).click();
  await page.getByRole('group', { name: 'Params' }).getByLabel('solver').uncheck();
  await expect(page.getByRole('table', { name: 'Parameter differences' })).not.toContainText('solver');
  await page.locator('summary', { hasText: /^Metrics/ }).click();
  await page.getByRole('group', { name: 'Metrics' }).getByLabel('accuracy').uncheck();
  await expect(page.getByRole('table', { name: 'Latest metric values' })).not.toContainText('accuracy');

  await page.getByLabel('Scatter X').selectOption('params.C');
  await page.getByLabel('Scatter Y').selectOption('metrics.loss');
  const scatter = page.getByTestId('scatter');
  expect((await scatter.boundingBox())?.width ?? 0).toBeGreaterThan(1000);
  expect(Number(await scatter.getAttribute('data-x-ticks'))).toBeGreaterThanOrEqual(3);
  expect(Number(await scatter.getAttribute('data-y-ticks'))).toBeGreaterThanOrEqual(3);
  await expect(scatter.locator('circle')).toHaveCount(3);

  await page.getByLabel('Group by').selectOption('params.penalty');
  await page.getByLabel('Box plot value').selectOption('metrics.loss');
  const boxes = page.getByTestId('box-plot');
  await expect(boxes.locator('g[data-box]')).toHaveCount(2);
  await expect(boxes.locator('g[data-box="l2"]')).toHaveAttribute('data-count', '2');

  await page.getByLabel('Contour X').selectOption('params.C');
  await page.getByLabel('Contour Y').selectOption('metrics.accuracy');
  await page.getByLabel('Contour Z').selectOption('metrics.loss');
  const contour = page.getByTestId('contour');
  await expect(contour.locator('circle.contour-point')).toHaveCount(3);
  expect(await contour.locator('g[data-levels] rect').count()).toBeGreaterThan(100);
  await contour.scrollIntoViewIfNeeded();
  await screenshot(page, 'compare-plots');
});
