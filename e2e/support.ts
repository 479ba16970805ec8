import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';

/** Ids written by e2e/fixture.py. */
export interface FixtureIds {
  experiment_id: string;
  experiment_name: string;
  parent_run_id: string;
  model_run_id: string;
  child_run_ids: string[];
  model_name: string;
  first_version: string;
  candidate_run_id: string;
  live_run_id: string;
}

export function ids(): FixtureIds {
  const raw = process.env.TROVE_E2E_IDS;
  if (!raw) throw new Error('TROVE_E2E_IDS is not set: run through e2e/playwright.config.ts');
  return JSON.parse(raw) as FixtureIds;
}

export function serverUrl(): string {
  const url = process.env.TROVE_E2E_URL;
  if (!url) throw new Error('TROVE_E2E_URL is not set');
  return url;
}

const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'output', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Calls the MLflow REST API directly (the same wire calls the client makes). */
export async function mlflowPost(pathName: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${serverUrl()}/api/2.0/mlflow/${pathName}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${pathName}: ${res.status} ${await res.text()}`);
  return res.json();
}
