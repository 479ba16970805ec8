import { expect, test, type Page } from '@playwright/test';
import { ids, screenshot } from './support.ts';

async function colours(page: Page): Promise<{ page: string; text: string; panel: string; input: string }> {
  return page.evaluate(() => {
    const style = (el: Element | null) => (el ? getComputedStyle(el) : undefined);
    return {
      page: style(document.documentElement)?.backgroundColor ?? '',
      text: style(document.querySelector('h1'))?.color ?? '',
      panel: style(document.querySelector('.facts'))?.backgroundColor ?? '',
      input: style(document.querySelector('input, select'))?.backgroundColor ?? '',
    };
  });
}

test.describe('with the system set to dark', () => {
  test.use({ colorScheme: 'dark' });

  test('pages turn dark: background, panels, text and inputs', async ({ page }) => {
    const f = ids();
    await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}`);
    await expect(page.locator('.facts')).toBeVisible();
    expect(await colours(page)).toEqual({ page: 'rgb(14, 19, 26)', text: 'rgb(228, 231, 236)', panel: 'rgb(22, 29, 39)', input: 'rgb(14, 19, 26)' });
    await screenshot(page, 'dark-run');
    await page.goto(`/compare?experiments=${f.experiment_id}&runs=${f.child_run_ids.join(',')}`);
    await expect(page.getByRole('group', { name: 'Parallel coordinates of the compared runs' })).toBeVisible();
    await screenshot(page, 'dark-compare');
  });
});

test('pages stay light when the system is light', async ({ page }) => {
  const f = ids();
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`/experiments/${f.experiment_id}/runs/${f.model_run_id}`);
  await expect(page.locator('.facts')).toBeVisible();
  expect(await colours(page)).toEqual({ page: 'rgb(247, 248, 250)', text: 'rgb(29, 36, 48)', panel: 'rgb(255, 255, 255)', input: 'rgb(255, 255, 255)' });
});
