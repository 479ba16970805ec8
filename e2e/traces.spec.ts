import { expect, test } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { runFixture, screenshot, serverUrl } from './support.ts';

/** Ids written by e2e/traces_fixture.py. */
interface TraceFixture {
  experiment_id: string;
  experiment_name: string;
  trace_id: string;
  error_trace_id: string;
  run_id: string;
}

test.describe.configure({ mode: 'serial' });

let f: TraceFixture;

test.beforeAll(() => {
  // Traces made by the real MLflow 3 client (decorators, spans, OTLP export, log_feedback).
  f = runFixture<TraceFixture>('traces_fixture.py', { MLFLOW_TRACKING_URI: serverUrl() });
});

test('the Traces tab lists traces with previews, state, latency, tokens, tags and run, and filters them on the server', async ({ page }) => {
  await page.goto(`/experiments/${f.experiment_id}`);
  await page.getByRole('tab', { name: 'Traces' }).click();
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}/traces$`));
  const grid = page.getByRole('table', { name: 'Traces' });
  await expect(page.locator('.traces-count')).toHaveText('6 traces');
  const row = grid.getByRole('row').filter({ hasText: 'meaning of life?' });
  await expect(row).toContainText('42');
  await expect(row).toContainText('ok');
  await expect(row).toContainText('user=u1');
  await expect(row.getByRole('cell').nth(7)).toHaveText('15');
  await expect(row.getByRole('link', { name: f.run_id.slice(0, 8) })).toBeVisible();
  await expect(row.getByLabel('1 thumbs up, 0 thumbs down, 0 other assessments')).toBeVisible();
  const failed = grid.getByRole('row').filter({ hasText: 'Oslo' });
  await expect(failed).toContainText('error');
  await screenshot(page, 'traces-tab');

  // Quick filter: state.
  await page.getByLabel('Trace state').selectOption('ERROR');
  await expect(page).toHaveURL(/state=ERROR/);
  await expect(page.locator('.traces-count')).toHaveText('1 traces');
  await expect(grid.getByRole('row').filter({ hasText: 'Oslo' })).toBeVisible();
  await page.getByLabel('Trace state').selectOption('');

  // MLflow's search_traces grammar, run by the server.
  await page.getByLabel('Filter traces (MLflow search syntax)').fill("tags.user = 'u1' and trace.name = 'answer'");
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('.traces-count')).toHaveText('5 traces');
  await expect(grid.getByRole('row').filter({ hasText: 'Oslo' })).toHaveCount(0);
  await page.getByLabel('Filter traces (MLflow search syntax)').fill('trace.nonsense >> 1');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByRole('alert')).toContainText('INVALID_PARAMETER_VALUE');
  await page.getByLabel('Filter traces (MLflow search syntax)').fill('');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('.traces-count')).toHaveText('6 traces');

  // Order by latency, on the server.
  const latency = grid.getByRole('columnheader', { name: /Latency/ });
  await latency.getByRole('button').click();
  await expect(latency).toHaveAttribute('aria-sort', 'descending');
  await expect(page).toHaveURL(/order=latency\.desc/);

  // Open a trace from its row.
  await grid.getByRole('row').filter({ hasText: 'meaning of life?' }).getByRole('link', { name: 'meaning of life?' }).click();
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}/traces/${f.trace_id}`));
  await expect(page.getByRole('heading', { level: 1 })).toContainText('answer');
});

test('the trace page shows the span tree beside a waterfall, span details and the chat span as a conversation', async ({ page }) => {
  await page.goto(`/experiments/${f.experiment_id}/traces/${f.trace_id}`);
  const spans = page.getByRole('table', { name: 'Spans' });
  const names = spans.locator('.span-label');
  await expect(names).toHaveText(['answer', 'retrieve', 'chat-llm']);
  // The root's bar spans the whole timeline; children are shorter and start later.
  const bars = spans.locator('.timeline-bar');
  await expect(bars).toHaveCount(3);
  expect(Number(await bars.nth(0).getAttribute('data-width'))).toBeGreaterThan(99);
  expect(Number(await bars.nth(1).getAttribute('data-width'))).toBeLessThan(99);
  expect(Number(await bars.nth(2).getAttribute('data-left'))).toBeGreaterThan(Number(await bars.nth(1).getAttribute('data-left')));
  await expect(page.locator('.fact', { hasText: 'Tokens' })).toContainText('15 (12 in / 3 out)');
  await expect(page.locator('.fact', { hasText: 'Tags' })).toContainText('user=u1');

  // The root span is open first: its inputs and outputs.
  const details = page.locator('.span-details');
  await expect(details.getByRole('heading', { level: 2 })).toContainText('answer');
  await expect(details.getByRole('region', { name: 'Inputs' })).toContainText('meaning of life?');
  await expect(details.getByRole('region', { name: 'Outputs' })).toContainText('42');

  // Selecting the retriever shows its documents.
  await spans.getByRole('row').filter({ hasText: 'retrieve' }).click();
  await expect(page).toHaveURL(/span=[0-9a-f]{16}/);
  await expect(details.getByRole('heading', { level: 2 })).toContainText('RETRIEVER');
  await expect(details.getByRole('region', { name: 'Outputs' })).toContainText('about meaning of life?');

  // Arrow keys move to the chat span: a conversation, its token usage and attributes.
  await spans.press('ArrowDown');
  await expect(details.getByRole('heading', { level: 2 })).toContainText('chat-llm');
  const conversation = details.getByRole('list', { name: 'Conversation' });
  await expect(conversation.getByRole('listitem')).toHaveCount(3);
  await expect(conversation.getByRole('listitem', { name: 'System message' })).toContainText('Answer in one word.');
  await expect(conversation.getByRole('listitem', { name: 'User message' })).toContainText('meaning of life?');
  await expect(conversation.getByRole('listitem', { name: 'Assistant message' })).toContainText('42');
  await expect(details.locator('.fact', { hasText: 'Tokens' })).toContainText('15 (12 in / 3 out)');
  await expect(details.getByRole('region', { name: /Attributes/ })).toContainText('docs_used');

  // Folding the root hides its children.
  await spans.getByRole('button', { name: 'Collapse answer' }).click();
  await expect(names).toHaveText(['answer']);
  await spans.getByRole('button', { name: 'Expand answer' }).click();
  await expect(names).toHaveCount(3);
  await spans.getByRole('row').filter({ hasText: 'chat-llm' }).click();
  await screenshot(page, 'trace-page');
});

test('on a narrow page the span table scrolls sideways with the span names pinned at its left edge', async ({ page }) => {
  await page.setViewportSize({ width: 420, height: 800 });
  await page.goto(`/experiments/${f.experiment_id}/traces/${f.trace_id}`);
  const spans = page.getByRole('table', { name: 'Spans' });
  await expect(spans.locator('.span-label')).toHaveText(['answer', 'retrieve', 'chat-llm']);
  const box = await spans.boundingBox();
  if (!box) throw new Error('no span table box');
  await spans.evaluate((el) => {
    el.scrollLeft = el.scrollWidth;
  });
  await expect.poll(() => spans.evaluate((el) => el.scrollLeft)).toBeGreaterThan(20);
  // Scrolled to the right end: the timeline is in view, and each span's name is still at the left edge.
  await expect(spans.locator('.timeline-bar').first()).toBeInViewport();
  const name = spans.getByRole('row').filter({ hasText: 'retrieve' }).locator('.span-name');
  const nameBox = await name.boundingBox();
  expect(nameBox && Math.abs(nameBox.x - box.x) < 2).toBe(true);
  // What is pinned covers what scrolls under it: the name cell is the element at its own position.
  const covered = await name.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return document.elementFromPoint(r.left + 20, r.top + r.height / 2)?.closest('.span-name') === el;
  });
  expect(covered).toBe(true);
  await screenshot(page, 'trace-spans-pinned');
});

test('a failed span shows its error and the exception event with its stack trace', async ({ page }) => {
  await page.goto(`/experiments/${f.experiment_id}/traces/${f.error_trace_id}`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('forecast');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('error');
  const spans = page.getByRole('table', { name: 'Spans' });
  const failing = spans.getByRole('row').filter({ hasText: 'weather_lookup' });
  await expect(failing).toContainText('error');
  await failing.click();
  const exception = page.locator('.span-details').getByRole('group', { name: 'Exception' });
  await expect(exception).toContainText('ValueError');
  await expect(exception).toContainText('no weather for Oslo');
  await expect(exception.locator('pre.stack-trace')).toContainText('Traceback');
  await expect(exception.locator('pre.stack-trace')).toContainText('weather_lookup');
  await screenshot(page, 'trace-exception');
});

test('thumbs-up feedback with a rationale from the page is stored with its author and shown', async ({ page }) => {
  await page.goto(`/experiments/${f.experiment_id}/traces/${f.trace_id}`);
  const panel = page.getByRole('region', { name: /Assessments/ });
  // The feedback the MLflow client logged, with who gave it.
  const logged = panel.getByRole('listitem', { name: 'feedback correct' });
  await expect(logged).toContainText('yes');
  await expect(logged).toContainText('matches the retrieved doc');
  await expect(logged.locator('.assessment-author')).toHaveText('rev@example.com');

  const form = panel.getByRole('form', { name: 'Add feedback' });
  await expect(form.getByRole('button', { name: 'Submit feedback' })).toBeDisabled();
  await form.getByRole('button', { name: 'Thumbs up' }).click();
  await form.getByLabel('Rationale (optional)').fill('Short and right.');
  await form.getByLabel('Your name').fill('e2e-reviewer');
  await form.getByRole('button', { name: 'Submit feedback' }).click();
  const mine = panel.getByRole('listitem', { name: 'feedback user_feedback' });
  await expect(mine).toContainText('yes');
  await expect(mine).toContainText('Short and right.');
  await expect(mine.locator('.assessment-author')).toHaveText('e2e-reviewer');
  await expect(panel.getByRole('heading', { name: 'Assessments (2)' })).toBeVisible();

  // Stored on the server as the MLflow client would read it.
  const res = await fetch(`${serverUrl()}/api/3.0/mlflow/traces/get?trace_id=${f.trace_id}`);
  const body = (await res.json()) as { trace: { trace_info: { assessments?: Array<Record<string, unknown>> } } };
  const stored = body.trace.trace_info.assessments?.find((a) => a.assessment_name === 'user_feedback');
  expect(stored).toMatchObject({ source: { source_type: 'HUMAN', source_id: 'e2e-reviewer' }, feedback: { value: true }, rationale: 'Short and right.' });
  // The name is remembered for the next review.
  await page.reload();
  await expect(page.getByRole('form', { name: 'Add feedback' }).getByLabel('Your name')).toHaveValue('e2e-reviewer');
});

test('a trace links to its run, the run page lists its traces and links back, and MLflow-style trace links open the trace', async ({ page }) => {
  await page.goto(`/experiments/${f.experiment_id}/traces/${f.trace_id}`);
  await page.locator('.fact', { hasText: 'Run' }).getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}/runs/${f.run_id}`));
  await expect(page.getByRole('heading', { name: /traced-run/ })).toBeVisible();
  await page.getByRole('tab', { name: 'Traces' }).click();
  const grid = page.getByRole('table', { name: 'Traces' });
  await expect(page.locator('.traces-count')).toHaveText('1 traces');
  await grid.getByRole('link', { name: 'meaning of life?' }).click();
  await expect(page).toHaveURL(new RegExp(`/traces/${f.trace_id}`));

  // MLflow's own link to a trace (its UI's hash route, the trace selected in the list) opens the trace page.
  await page.goto(`/#/experiments/${f.experiment_id}/traces?selectedEvaluationId=${f.trace_id}`);
  await expect(page).toHaveURL(new RegExp(`/experiments/${f.experiment_id}/traces/${f.trace_id}$`));
  await expect(page.getByRole('table', { name: 'Spans' })).toBeVisible();
});

test('a trace logged while the Traces tab is open appears without a reload', async ({ page }) => {
  await page.goto(`/experiments/${f.experiment_id}/traces`);
  const grid = page.getByRole('table', { name: 'Traces' });
  await expect(page.locator('.traces-count')).toHaveText(/^\d+ traces$/);
  const before = await grid.getByRole('row').count();
  // The call the MLflow client makes when a trace ends (StartTraceV3).
  const traceId = `tr-${randomBytes(16).toString('hex')}`;
  const res = await fetch(`${serverUrl()}/api/3.0/mlflow/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      trace: {
        trace_info: {
          trace_id: traceId,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: f.experiment_id } },
          request_time: new Date().toISOString(),
          execution_duration: '0.005s',
          state: 'OK',
          trace_metadata: { 'mlflow.trace_schema.version': '3' },
          tags: { 'mlflow.traceName': 'live' },
          request_preview: '{"q": "arrived live"}',
          response_preview: '"yes"',
        },
      },
    }),
  });
  expect(res.ok).toBe(true);
  const logged = Date.now();
  const row = grid.getByRole('row').filter({ hasText: 'arrived live' });
  await expect(row).toBeVisible({ timeout: 6000 });
  expect(Date.now() - logged).toBeLessThan(5000);
  await expect(row).toHaveClass(/arrived/);
  expect(await grid.getByRole('row').count()).toBe(before + 1);
});
