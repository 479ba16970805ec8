import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startTroveProcess, type TroveProcess } from '../support/trove-process.ts';

/**
 * The admin commands on a real database, then a real `trove server --auth` on it: what the CLI
 * prints once (passwords, tokens) works against the server.
 */

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

describe('trove user/project/member/token/audit', () => {
  let dir: string;
  let uri: string;
  let server: TroveProcess | undefined;

  async function trove(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'trove.js'), ...args, ...(args[0] === '--help' ? [] : ['--backend-store-uri', uri])], {
        cwd: REPO_ROOT,
      });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const failed = error as { stdout: string; stderr: string; code: number };
      return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
    }
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-cli-'));
    uri = `sqlite:///${path.join(dir, 'trove.db')}`;
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('set users, a project, members and a token up, printing secrets once', async () => {
    const alice = await trove('user', 'create', 'alice', '--admin');
    assert.equal(alice.code, 0, alice.stderr);
    assert.match(alice.stdout, /Created user 'alice' \(instance administrator\)\.\nPassword \(shown once\): [A-Za-z0-9]{20}\n/);
    const bob = await trove('user', 'create', 'bob');
    const bobPassword = /Password \(shown once\): (\S+)/.exec(bob.stdout)![1]!;
    const project = await trove('project', 'create', 'fraud', '--owner', 'alice');
    assert.match(project.stdout, /Created project 'fraud' \(id 2\) owned by 'alice'\./);
    assert.match(project.stdout, /\/projects\/fraud/);
    const member = await trove('member', 'add', 'fraud', 'bob', '--role', 'reporter');
    assert.equal(member.stdout, "'bob' is reporter of project 'fraud'.\n");
    const badRole = await trove('member', 'add', 'fraud', 'bob', '--role', 'boss');
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /must be one of guest, reporter, developer, maintainer, owner/);
    const token = await trove('token', 'create', '--user', 'alice', '--project', 'fraud', '--scope', 'write', '--expires', '90d', '--name', 'ci');
    assert.equal(token.code, 0, token.stderr);
    const secret = /Token \(shown once; store it now\): (trove_pat_\S+)/.exec(token.stdout)![1]!;
    const listed = await trove('token', 'list');
    assert.match(listed.stdout, /^ID\s+USER\s+PROJECT\s+SCOPE\s+STATUS/);
    assert.match(listed.stdout, /\n1\s+alice\s+fraud\s+write\s+active\s+ci\s+trove_pat_/);
    assert.ok(!listed.stdout.includes(secret), 'listings never show the token');
    const users = await trove('user', 'list');
    assert.match(users.stdout, /alice\s+yes\s+set/);
    const projects = await trove('project', 'list');
    assert.match(projects.stdout, /2\s+fraud\s+2\s+alice/);
    const missing = await trove('member', 'add', 'nope', 'bob', '--role', 'guest');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "error: Project 'nope' does not exist.\n");

    // A server with --auth on that database accepts exactly those credentials.
    server = await startTroveProcess(['--backend-store-uri', uri, '--artifacts-destination', path.join(dir, 'artifacts'), '--auth']);
    assert.ok(!server.output().includes('password:'), 'no first-start admin: users exist');
    const withToken = await fetch(`${server.url}/projects/fraud/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from-cli-token' }),
    });
    assert.equal(withToken.status, 200, await withToken.text());
    const basic = `Basic ${Buffer.from(`bob:${bobPassword}`).toString('base64')}`;
    const reporterWrite = await fetch(`${server.url}/projects/fraud/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nope' }),
    });
    assert.equal(reporterWrite.status, 403);
    const reporterRead = await fetch(`${server.url}/projects/fraud/api/2.0/mlflow/experiments/get-by-name?experiment_name=from-cli-token`, { headers: { authorization: basic } });
    assert.equal(reporterRead.status, 200);
    const anonymous = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`);
    assert.equal(anonymous.status, 401);

    const revoke = await trove('token', 'revoke', '1');
    assert.equal(revoke.stdout, "Revoked token 1 of 'alice'.\n");
    const revoked = await fetch(`${server.url}/projects/fraud/api/2.0/mlflow/experiments/search`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(revoked.status, 401, 'revocation applies to the running server at once');

    const exported = await trove('audit', 'export', '--project', 'fraud');
    const entries = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as { action: string; actor: string; project: string });
    assert.deepEqual(
      entries.map((e) => e.action),
      ['project.create', 'member.add', 'token.create', 'experiment.create', 'token.revoke'],
    );
    assert.match(entries[0]!.actor, /^cli:/);
    assert.equal(entries[3]!.actor, 'alice');
    const file = path.join(dir, 'audit.ndjson');
    const toFile = await trove('audit', 'export', '--since', '1h', '--output', file);
    assert.match(toFile.stderr, /^Wrote \d+ audit entries to /);
    assert.ok(fs.readFileSync(file, 'utf8').split('\n').length > entries.length);

    const setPassword = await trove('user', 'set-password', 'bob');
    assert.match(setPassword.stdout, /New password \(shown once\): \S{20}/);
    const oldPassword = await fetch(`${server.url}/projects/fraud/api/2.0/mlflow/experiments/search`, { headers: { authorization: basic } });
    assert.equal(oldPassword.status, 401);
    const removed = await trove('member', 'remove', 'fraud', 'bob');
    assert.equal(removed.code, 0, removed.stderr);
    const deleted = await trove('user', 'delete', 'bob');
    assert.equal(deleted.stdout, "Deleted user 'bob'.\n");
  });

  it('print helpful --help', async () => {
    const help = await trove('token', 'create', '--help');
    assert.match(help.stdout, /--scope <scope>\s+read \(GET only\) or write/);
    assert.match(help.stdout, /--expires <duration>/);
    assert.match(help.stdout, /Example:\n\s+trove token create --user alice --project fraud --scope write --expires 90d/);
    const top = await trove('--help');
    for (const command of ['user', 'project', 'member', 'token', 'audit']) assert.match(top.stdout, new RegExp(`\\n\\s+${command}\\s`));
  });

  it('trove server --auth on an empty database creates the admin and prints the password once', async () => {
    const fresh = `sqlite:///${path.join(dir, 'fresh.db')}`;
    const first = await startTroveProcess(['--backend-store-uri', fresh, '--artifacts-destination', path.join(dir, 'a2'), '--auth']);
    try {
      const deadline = Date.now() + 10_000;
      while (!/password:\s+\S{20}/.test(first.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const output = first.output();
      assert.match(output, /Authentication:\s+on/);
      const password = /password:\s+(\S{20})/.exec(output)![1]!;
      assert.match(output, /user name: admin/);
      const ok = await fetch(`${first.url}/api/2.0/trove/projects`, { headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json() as { projects: Array<{ name: string }> }).projects[0]!.name, 'default');
    } finally {
      await first.stop();
    }
    const second = await startTroveProcess(['--backend-store-uri', fresh, '--artifacts-destination', path.join(dir, 'a2'), '--auth']);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(!second.output().includes('password:'), 'shown once: the second start creates nothing');
    } finally {
      await second.stop();
    }
  });
});
