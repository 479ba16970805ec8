import fs from 'node:fs';
import os from 'node:os';
import { finished } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { openDatabase, type OpenedDatabase } from '../store/sql/database.ts';
import { SqlAuthStore } from '../store/sql/sql-auth-store.ts';
import { AuditLog, parseTimeBound, type AuditFilter } from '../domain/audit/audit-log.ts';
import { AuthService } from '../domain/auth/auth-service.ts';
import { MlflowError } from '../domain/errors.ts';
import { ROLES, runWithContext, systemContext, type ProjectRef } from '../domain/request-context.ts';
import { presentAuditEntry } from '../http/auth-presenters.ts';
import type { TokenRecord } from '../store/auth-store.ts';

/**
 * `trove user|project|member|token|audit ...`: administration on the database directly (the same
 * migrations as the server; the server may be running). Changes are audited with the actor
 * `cli:<os user>`. Secrets (generated passwords, tokens) are printed once and never stored.
 */

const DEFAULT_BACKEND_STORE_URI = 'sqlite:///./trove-data/trove.db';

interface AdminHandle {
  auth: AuthService;
  audit: AuditLog;
  database: OpenedDatabase;
}

function backendOption(): Option {
  return new Option('--backend-store-uri <uri>', 'database of the Trove server (same as `trove server`)').default(DEFAULT_BACKEND_STORE_URI);
}

function cliActor(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return `cli:${name}`;
}

/** Opens the database, runs `work` as the CLI principal (in `project` when given), reports errors plainly. */
async function withAdmin(uri: string, work: (admin: AdminHandle) => Promise<void>): Promise<void> {
  let database: OpenedDatabase | undefined;
  try {
    database = await openDatabase(uri);
    const audit = new AuditLog(new SqlAuthStore(database.db));
    const auth = new AuthService(new SqlAuthStore(database.db), audit, { enabled: true });
    const handle: AdminHandle = { auth, audit, database };
    await runWithContext(systemContext({ username: cliActor() }), () => work(handle));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await database?.close();
  }
}

/** Runs `work` as the CLI principal acting in `project` (member changes are audited there). */
function inProject<T>(project: ProjectRef, work: () => Promise<T>): Promise<T> {
  return runWithContext(systemContext({ username: cliActor(), project }), work);
}

async function projectRef(auth: AuthService, name: string): Promise<ProjectRef> {
  const project = await auth.findProject({ name });
  if (!project) throw MlflowError.notFound(`Project '${name}' does not exist.`);
  return { id: project.id, name: project.name };
}

async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function parseRoleOption(value: string): string {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}.`);
  return value;
}

function parseScopeOption(value: string): string {
  if (value !== 'read' && value !== 'write') throw new InvalidArgumentError('must be read or write.');
  return value;
}

function parseBoolean(value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('must be true or false.');
}

function date(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A plain text table with a header row. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function tokenStatus(token: TokenRecord): string {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= Date.now()) return 'expired';
  return 'active';
}

export function adminCommands(program: Command): void {
  // ------------------------------------------------------------------ users
  const user = program.command('user').description('Manage user accounts (instance administrators, passwords).');

  user
    .command('create <name>')
    .description('Create a user. Prints a generated one-time password unless --password-stdin or --no-password is given.')
    .option('--admin', 'make the user an instance administrator')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--no-password', 'create the user without a password (access tokens only)')
    .addOption(backendOption())
    .addHelpText('after', '\nExample:\n  trove user create alice --admin\n  echo "$PASSWORD" | trove user create ci-bot --password-stdin\n')
    .action(async (name: string, options: { admin?: boolean; passwordStdin?: boolean; password: boolean; backendStoreUri: string }) => {
      const password = options.passwordStdin ? await readPasswordFromStdin() : undefined;
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const created = await auth.createUser({ username: name, password, isAdmin: options.admin === true, generatePassword: options.password });
        process.stdout.write(`Created user '${created.user.username}'${created.user.isAdmin ? ' (instance administrator)' : ''}.\n`);
        if (created.generatedPassword !== undefined) {
          process.stdout.write(
            `Password (shown once): ${created.generatedPassword}\n` +
              `Sign in to the web UI with it, or use it with the MLflow client:\n` +
              `  export MLFLOW_TRACKING_USERNAME=${created.user.username}\n  export MLFLOW_TRACKING_PASSWORD='<the password above>'\n`,
          );
        }
      });
    });

  user
    .command('list')
    .description('List users.')
    .addOption(backendOption())
    .action(async (options: { backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const users = await auth.listUsers();
        process.stdout.write(table(['USER', 'ADMIN', 'PASSWORD', 'CREATED'], users.map((u) => [u.username, u.isAdmin ? 'yes' : 'no', u.passwordHash ? 'set' : 'none', date(u.createdAt)])));
      });
    });

  user
    .command('delete <name>')
    .description('Delete a user with their memberships, tokens and sessions.')
    .addOption(backendOption())
    .action(async (name: string, options: { backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        await auth.deleteUser(name);
        process.stdout.write(`Deleted user '${name}'.\n`);
      });
    });

  user
    .command('set-password <name>')
    .description("Set a user's password (a generated one, printed once, unless --password-stdin). Ends the user's web sessions.")
    .option('--password-stdin', 'read the new password from standard input')
    .addOption(backendOption())
    .action(async (name: string, options: { passwordStdin?: boolean; backendStoreUri: string }) => {
      const password = options.passwordStdin ? await readPasswordFromStdin() : undefined;
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const generated = await auth.setPassword(name, password);
        process.stdout.write(`Password of '${name}' changed.\n`);
        if (generated !== undefined) process.stdout.write(`New password (shown once): ${generated}\n`);
      });
    });

  user
    .command('set-admin <name> <true|false>')
    .description('Grant or revoke instance administration.')
    .addOption(backendOption())
    .action(async (name: string, value: string, options: { backendStoreUri: string }) => {
      const isAdmin = parseBoolean(value);
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        await auth.setAdmin(name, isAdmin);
        process.stdout.write(`'${name}' is ${isAdmin ? 'now' : 'no longer'} an instance administrator.\n`);
      });
    });

  // ------------------------------------------------------------------ projects
  const project = program.command('project').description('Manage projects (each has its own experiments, models, webhooks and artifacts).');

  project
    .command('create <name>')
    .description('Create a project. Names: 2-63 lowercase letters, digits and inner hyphens.')
    .option('--owner <user>', 'user who becomes the project owner')
    .option('--description <text>', 'what the project is for')
    .addOption(backendOption())
    .addHelpText('after', '\nExample:\n  trove project create fraud --owner alice\n  export MLFLOW_TRACKING_URI=http://<host>:5000/projects/fraud\n')
    .action(async (name: string, options: { owner?: string; description?: string; backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const created = await auth.createProject({ name, description: options.description, owner: options.owner });
        process.stdout.write(
          `Created project '${created.name}' (id ${created.id})${options.owner ? ` owned by '${options.owner}'` : ''}.\n` +
            `Tracking URI: http://<host>:<port>/projects/${created.name}  (GitLab form: /api/v4/projects/${created.id}/ml/mlflow)\n`,
        );
      });
    });

  project
    .command('list')
    .description('List projects.')
    .addOption(backendOption())
    .action(async (options: { backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const projects = await auth.listVisibleProjects(systemContext().principal);
        const rows: string[][] = [];
        for (const p of projects) {
          const members = await auth.listMembers(p.id);
          const owners = members.filter((m) => m.role === 'owner').map((m) => m.username);
          rows.push([String(p.id), p.name, String(members.length), owners.join(',') || '-', date(p.createdAt), p.description ?? '']);
        }
        process.stdout.write(table(['ID', 'NAME', 'MEMBERS', 'OWNERS', 'CREATED', 'DESCRIPTION'], rows));
      });
    });

  project
    .command('delete <name>')
    .description('Delete a project that holds no runs (deleted ones included), logged models, registered models or webhooks.')
    .addOption(backendOption())
    .action(async (name: string, options: { backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const ref = await projectRef(auth, name);
        await inProject(ref, () => auth.deleteProject(ref));
        process.stdout.write(`Deleted project '${name}'.\n`);
      });
    });

  // ------------------------------------------------------------------ members
  const member = program.command('member').description(`Manage project members and their roles (${ROLES.join(', ')}).`);

  member
    .command('add <project> <user>')
    .description('Add a member to a project, or change the role of an existing member.')
    .addOption(new Option('--role <role>', `one of ${ROLES.join(', ')}`).argParser(parseRoleOption).makeOptionMandatory())
    .addOption(backendOption())
    .addHelpText(
      'after',
      '\nRoles: guest, reporter (read); developer (+ log runs, register versions); maintainer (+ delete, move aliases,\nwebhooks, members, audit log); owner (+ project settings).\n\nExample:\n  trove member add fraud bob --role developer\n',
    )
    .action(async (projectName: string, username: string, options: { role: string; backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const ref = await projectRef(auth, projectName);
        const added = await inProject(ref, () => auth.setMember(ref, username, options.role, 'upsert'));
        process.stdout.write(`'${added.username}' is ${added.role} of project '${ref.name}'.\n`);
      });
    });

  member
    .command('remove <project> <user>')
    .description('Remove a member from a project.')
    .addOption(backendOption())
    .action(async (projectName: string, username: string, options: { backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const ref = await projectRef(auth, projectName);
        await inProject(ref, () => auth.removeMember(ref, username));
        process.stdout.write(`Removed '${username}' from project '${ref.name}'.\n`);
      });
    });

  member
    .command('list <project>')
    .description("List a project's members.")
    .addOption(backendOption())
    .action(async (projectName: string, options: { backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const ref = await projectRef(auth, projectName);
        const members = await auth.listMembers(ref.id);
        process.stdout.write(table(['USER', 'ROLE', 'SINCE'], members.map((m) => [m.username, m.role, date(m.createdAt)])));
      });
    });

  // ------------------------------------------------------------------ tokens
  const token = program.command('token').description('Manage personal access tokens (shown once, stored only as a hash).');

  token
    .command('create')
    .description('Create an access token for a user and print it once.')
    .requiredOption('--user <user>', 'whose token it is')
    .option('--project <project>', 'limit the token to one project (default: every project of the user)')
    .addOption(new Option('--scope <scope>', 'read (GET only) or write').argParser(parseScopeOption).default('write'))
    .option('--expires <duration>', 'lifetime, e.g. 90d, 12h, 2w, 1y (default: never)')
    .option('--name <name>', 'a label to recognise the token by')
    .addOption(backendOption())
    .addHelpText(
      'after',
      '\nExample:\n  trove token create --user alice --project fraud --scope write --expires 90d\n  export MLFLOW_TRACKING_TOKEN=<the token>\n',
    )
    .action(async (options: { user: string; project?: string; scope: string; expires?: string; name?: string; backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const created = await auth.createToken({ username: options.user, project: options.project, scope: options.scope, expiresIn: options.expires, name: options.name });
        const r = created.record;
        process.stdout.write(
          `Created token ${r.id} for '${r.username}' (scope ${r.scope}${r.projectName ? `, project ${r.projectName}` : ', every project of the user'}, ` +
            `${r.expiresAt === null ? 'no expiry' : `expires ${date(r.expiresAt)}`}).\n` +
            `Token (shown once; store it now): ${created.token}\n` +
            `Use it with the MLflow client:\n  export MLFLOW_TRACKING_TOKEN=${created.token}\n`,
        );
      });
    });

  token
    .command('list')
    .description('List access tokens (never the tokens themselves).')
    .option('--user <user>', "only this user's tokens")
    .option('--project <project>', 'only tokens limited to this project')
    .addOption(backendOption())
    .action(async (options: { user?: string; project?: string; backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const tokens = await auth.listTokens({ username: options.user, project: options.project });
        process.stdout.write(
          table(
            ['ID', 'USER', 'PROJECT', 'SCOPE', 'STATUS', 'NAME', 'HINT', 'CREATED', 'EXPIRES', 'LAST USED'],
            tokens.map((t) => [String(t.id), t.username, t.projectName ?? '*', t.scope, tokenStatus(t), t.name || '-', t.hint, date(t.createdAt), date(t.expiresAt), date(t.lastUsedAt)]),
          ),
        );
      });
    });

  token
    .command('revoke <id>')
    .description('Revoke an access token; requests with it get 401 from then on.')
    .addOption(backendOption())
    .action(async (id: string, options: { backendStoreUri: string }) => {
      if (!/^\d+$/.test(id)) {
        process.stderr.write('error: the token id is a number (see `trove token list`).\n');
        process.exitCode = 1;
        return;
      }
      await withAdmin(options.backendStoreUri, async ({ auth }) => {
        const revoked = await auth.revokeToken(Number(id));
        process.stdout.write(`Revoked token ${revoked.id} of '${revoked.username}'.\n`);
      });
    });

  // ------------------------------------------------------------------ audit log
  const audit = program.command('audit').description('Read the audit log (every change: who, project, action, entity, time, request, address).');

  audit
    .command('export')
    .description('Write audit entries as NDJSON (one JSON object per line), oldest first.')
    .option('--project <project>', 'only entries of this project')
    .option('--since <time>', 'from this time: ISO date/time, ms since the epoch, or an age such as 7d or 12h')
    .option('--until <time>', 'before this time (same forms)')
    .option('--actor <user>', 'only changes by this user')
    .option('--action <action>', 'only this action (e.g. run.delete), or a prefix ending in a dot (run.)')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .addOption(backendOption())
    .addHelpText('after', '\nExample:\n  trove audit export --project fraud --since 30d > fraud-audit.ndjson\n')
    .action(async (options: { project?: string; since?: string; until?: string; actor?: string; action?: string; output?: string; backendStoreUri: string }) => {
      await withAdmin(options.backendStoreUri, async ({ auth, audit: log }) => {
        const filter: AuditFilter = {
          projectId: options.project !== undefined ? (await projectRef(auth, options.project)).id : undefined,
          since: options.since !== undefined ? parseTimeBound(options.since, '--since') : undefined,
          until: options.until !== undefined ? parseTimeBound(options.until, '--until') : undefined,
          actor: options.actor,
          action: options.action,
        };
        const names = await auth.projectNames();
        const out: NodeJS.WritableStream = options.output ? fs.createWriteStream(options.output) : process.stdout;
        let count = 0;
        for await (const row of log.export(filter)) {
          const line = `${JSON.stringify(presentAuditEntry(row, names))}\n`;
          if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
          count += 1;
        }
        if (options.output) {
          (out as fs.WriteStream).end();
          await finished(out as fs.WriteStream);
          process.stderr.write(`Wrote ${count} audit entries to ${options.output}.\n`);
        }
      });
    });
}
