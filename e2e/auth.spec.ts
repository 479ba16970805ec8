import http from 'node:http';
import { expect, test, type Page } from '@playwright/test';
import { freePort, runFixture, screenshot, startTroveServer, troveCli, type TroveServer } from './support.ts';

/**
 * The web UI with `trove server --auth`: its own server on a free port with a temp database,
 * users, projects and memberships made with the CLI, project `alpha` filled by the real MLflow
 * client through an access token. rita is a reporter in alpha and in nothing else (not in beta,
 * not in default); mia is a maintainer in alpha.
 */

interface AlphaIds {
  experiment_id: string;
  run_id: string;
  model_name: string;
}

const PASSWORDS = { rita: 'rita-e2e-password', mia: 'mia-e2e-password' };

let server: TroveServer;
let alpha: AlphaIds;
let receiver: http.Server;
let receiverUrl: string;
const received: string[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  server = await startTroveServer({ auth: true });
  troveCli(server, ['user', 'create', 'rita', '--password-stdin'], `${PASSWORDS.rita}\n`);
  troveCli(server, ['user', 'create', 'mia', '--password-stdin'], `${PASSWORDS.mia}\n`);
  troveCli(server, ['project', 'create', 'alpha', '--description', 'Project A of the browser test']);
  troveCli(server, ['project', 'create', 'beta']);
  troveCli(server, ['member', 'add', 'alpha', 'rita', '--role', 'reporter']);
  troveCli(server, ['member', 'add', 'alpha', 'mia', '--role', 'maintainer']);
  const created = troveCli(server, ['token', 'create', '--user', 'mia', '--project', 'alpha', '--scope', 'write', '--name', 'fixture']);
  const token = /trove_pat_[A-Za-z0-9_-]+/.exec(created)?.[0];
  if (!token) throw new Error(`no token in the output of trove token create:\n${created}`);
  alpha = runFixture<AlphaIds>('auth_fixture.py', { MLFLOW_TRACKING_URI: `${server.url}/projects/alpha`, MLFLOW_TRACKING_TOKEN: token });

  // A webhook receiver for the "Send test event" button.
  const port = await freePort();
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push(body);
      response.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${port}/hook`;
});

test.afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await server?.stop();
});

async function signIn(page: Page, username: keyof typeof PASSWORDS): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(PASSWORDS[username]);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a reporter signs in, sees only their project and no Promote button', async ({ page }) => {
  await page.goto(`${server.url}/`);
  await expect(page).toHaveURL(`${server.url}/login`);

  // A wrong password stays on the page with a clear message.
  await page.getByLabel('User name').fill('rita');
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
  await screenshot(page, 'login');

  await page.getByLabel('Password').fill(PASSWORDS.rita);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Not a member of the default project: she lands in her only project.
  await expect(page).toHaveURL(/\/projects\/alpha\/experiments$/);
  const switcher = page.getByRole('combobox', { name: 'Project' });
  await expect(switcher).toHaveValue('alpha');
  await expect(switcher.locator('option')).toHaveText(['alpha']);
  await expect(page.locator('.user-menu')).toContainText('rita');
  await expect(page.locator('.user-menu')).toContainText('reporter');

  // Reading works; creating does not show.
  await expect(page.getByRole('link', { name: 'alpha-experiment' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'New experiment' })).toHaveCount(0);
  await page.getByRole('link', { name: 'alpha-experiment' }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/alpha/experiments/${alpha.experiment_id}$`));
  await page.getByRole('table', { name: 'Runs' }).getByRole('link', { name: 'alpha-run' }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/alpha/experiments/${alpha.experiment_id}/runs/${alpha.run_id}$`));
  await expect(page.getByRole('heading', { name: /alpha-run/ })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Parameters' })).toContainText('penalty');
  await expect(page.getByRole('button', { name: 'Promote' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Edit description' })).toHaveCount(0);
  await screenshot(page, 'reporter-run');

  // The model page offers no delete and no alias moves.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
  await page.getByRole('link', { name: alpha.model_name }).click();
  await expect(page.getByRole('heading', { name: alpha.model_name })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Delete model' })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Aliases' }).getByRole('button', { name: 'Set alias' })).toHaveCount(0);

  // Project pages: members (read-only) and her own tokens; no webhooks, audit log or settings.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Project' }).click();
  await expect(page).toHaveURL(/\/projects\/alpha\/members$/);
  const members = page.getByRole('table', { name: 'Members' });
  await expect(members).toContainText('mia');
  await expect(members).toContainText('maintainer');
  await expect(page.getByRole('region', { name: 'Add a member' })).toHaveCount(0);
  await expect(members.getByRole('combobox')).toHaveCount(0);
  const subnav = page.getByRole('navigation', { name: 'Project pages' });
  await expect(subnav.getByRole('link')).toHaveText(['Members', 'Access tokens']);
  await page.goto(`${server.url}/projects/alpha/audit`);
  await expect(page.getByRole('alert')).toContainText('You do not have access to audit log');

  // Another project is as if it did not exist.
  await page.goto(`${server.url}/projects/beta/experiments`);
  await expect(page.getByRole('heading', { name: 'Project not available' })).toBeVisible();
  await expect(page.getByRole('main').getByRole('link', { name: 'alpha' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(`${server.url}/projects/alpha/experiments`);
  await expect(page).toHaveURL(/\/login\?next=%2Fprojects%2Falpha%2Fexperiments$/);
});

test('a maintainer following a deep link signs in, comes back, and may promote and write', async ({ page }) => {
  const runPage = `/projects/alpha/experiments/${alpha.experiment_id}/runs/${alpha.run_id}`;
  await page.goto(`${server.url}${runPage}?tab=overview`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await signIn(page, 'mia');
  await expect(page).toHaveURL(`${server.url}${runPage}?tab=overview`);
  await expect(page.getByRole('heading', { name: /alpha-run/ })).toBeVisible();

  // She sees Promote, and the dialog opens.
  await page.getByRole('button', { name: 'Promote' }).click();
  const dialog = page.getByRole('dialog', { name: 'Promote run to the model registry' });
  await expect(dialog.getByLabel('Registered model')).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await screenshot(page, 'maintainer-run');

  // Artifacts come through the project's prefix too (API listing, preview, download link).
  await page.getByRole('tab', { name: 'Artifacts' }).click();
  await page.getByRole('tree', { name: 'Artifacts' }).getByRole('button', { name: /notes\.txt/ }).click();
  await expect(page.locator('.preview pre')).toContainText('notes of project alpha');
  await expect(page.getByRole('link', { name: 'Download' })).toHaveAttribute('href', /^\/projects\/alpha\/ajax-api\/2\.0\/mlflow-artifacts\/artifacts\//);
  await page.getByRole('tab', { name: 'Overview' }).click();

  // A write from the UI carries the session's CSRF token.
  await page.getByRole('button', { name: 'Edit description' }).click();
  await page.getByLabel('Description (Markdown)').fill('Checked by **mia**.');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.description strong')).toHaveText('mia');
});

test('project pages: members, a token shown once, a webhook with its test delivery, the audit log', async ({ page }) => {
  await page.goto(`${server.url}/projects/alpha/members`);
  await signIn(page, 'mia');
  await expect(page).toHaveURL(/\/projects\/alpha\/members$/);

  // Members: a maintainer changes a role (but cannot hand out owner).
  const role = page.getByLabel('Role of rita');
  await expect(role.locator('option[value="owner"]')).toHaveCount(0);
  await role.selectOption('developer');
  await expect(page.getByLabel('Role of rita')).toHaveValue('developer');
  await screenshot(page, 'members');

  // Access tokens: created, shown once with a copy button, then listed without the secret.
  const subnav = page.getByRole('navigation', { name: 'Project pages' });
  await expect(subnav.getByRole('link')).toHaveText(['Members', 'Access tokens', 'Webhooks', 'Audit log']);
  await subnav.getByRole('link', { name: 'Access tokens' }).click();
  await page.getByLabel('Token name').fill('e2e-laptop');
  await page.getByLabel('Scope').selectOption('read');
  await page.getByRole('button', { name: 'Create token' }).click();
  const fresh = page.getByRole('region', { name: 'New access token' });
  await expect(fresh).toContainText('you won’t see it again');
  await expect(fresh.getByRole('button', { name: 'Copy token' })).toBeVisible();
  const secret = await fresh.getByLabel('New token value').inputValue();
  expect(secret).toMatch(/^trove_pat_/);
  await expect(fresh.getByLabel('Client setup with this token')).toContainText(`MLFLOW_TRACKING_URI=${server.url}/projects/alpha`);
  await screenshot(page, 'token-created');
  await fresh.getByRole('button', { name: 'I have copied it' }).click();
  const tokens = page.getByRole('table', { name: 'Access tokens' });
  await expect(tokens.locator('tr', { hasText: 'e2e-laptop' })).toContainText('never');
  await expect(tokens).not.toContainText(secret);
  // The token works for the client, read-only.
  const read = await fetch(`${server.url}/projects/alpha/api/2.0/mlflow/experiments/search?max_results=5`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(read.status).toBe(200);

  // Webhooks: create one, send a test event to a local receiver, see the delivery log.
  await subnav.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: 'New webhook' }).click();
  const form = page.getByRole('dialog', { name: 'New webhook' });
  await form.getByLabel('Name').fill('ci');
  await form.getByLabel('URL').fill(receiverUrl);
  await form.getByLabel('Model version alias set').check();
  await form.getByRole('button', { name: 'Create webhook' }).click();
  await expect(page).toHaveURL(/\/projects\/alpha\/webhooks\/[^/]+$/);
  await expect(page.getByRole('heading', { name: 'ci' })).toBeVisible();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Test delivered' })).toContainText('HTTP 200');
  expect(received.length).toBeGreaterThan(0);
  await expect(page.getByRole('region', { name: 'Delivery log' })).toBeVisible();
  await screenshot(page, 'webhook');

  // Audit log: the role change is there, filterable, and exportable as NDJSON.
  await subnav.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('member.update');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/action=member\.update/);
  const entries = page.getByRole('table', { name: 'Audit entries' });
  await expect(entries.locator('tbody tr')).toHaveCount(1);
  await expect(entries).toContainText('rita');
  await expect(entries).toContainText('previous_role: reporter');
  const exportLink = page.getByRole('link', { name: 'Export NDJSON' });
  await expect(exportLink).toHaveAttribute('href', '/projects/alpha/ajax-api/2.0/trove/project/audit/export?action=member.update');
  const exported = await page.evaluate(async (href) => (await fetch(href)).text(), (await exportLink.getAttribute('href'))!);
  expect(exported.trim().split('\n').map((line) => JSON.parse(line).action)).toEqual(['member.update']);
  await screenshot(page, 'audit-log');
});

test('a session that ends sends the user to the login page and back', async ({ page, context }) => {
  await page.goto(`${server.url}/projects/alpha/experiments`);
  await signIn(page, 'rita');
  await expect(page.getByRole('link', { name: 'alpha-experiment' })).toBeVisible();
  // rita is a developer now (previous test): she may promote.
  await page.goto(`${server.url}/projects/alpha/experiments/${alpha.experiment_id}/runs/${alpha.run_id}`);
  await expect(page.getByRole('button', { name: 'Promote' })).toBeVisible();

  await context.clearCookies();
  // Either way is the behaviour under test: a background request of the run page may find the
  // session gone first and open the login page for the run page itself, or the click on Models
  // finds it gone and opens the login page for the models page.
  const models = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' });
  const runPage = `/projects/alpha/experiments/${alpha.experiment_id}/runs/${alpha.run_id}`;
  await Promise.race([models.click().catch(() => undefined), page.waitForURL(/\/login\?next=/)]);
  await expect(page).toHaveURL(/\/login\?next=/);
  const next = new URL(page.url()).searchParams.get('next');
  expect(['/projects/alpha/models', runPage]).toContain(next?.replace(/\?.*$/, ''));
  await signIn(page, 'rita');
  await expect(page).toHaveURL(`${server.url}${next}`);
  await page.goto(`${server.url}/projects/alpha/models`);
  await expect(page.getByRole('link', { name: alpha.model_name })).toBeVisible();
});
