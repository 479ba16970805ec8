import { Command } from 'commander';
import { TROVE_VERSION } from '../version.ts';
import { serverCommand } from './server.command.ts';

/**
 * The other subcommands, in the order `trove --help` lists them. `trove server` does not load
 * them: their modules (import, export, models, admin, backup, gc, with their schemas and clients)
 * are evaluated at the first dynamic import, and in the bundle that is never for a server start
 * (docs/memory.md, "Idle: fewer modules evaluated at start").
 */
async function otherCommands(program: Command): Promise<void> {
  const [models, admin, gc, backup, imports, exports] = await Promise.all([
    import('./models-pull.command.ts'),
    import('./admin.commands.ts'),
    import('./gc.command.ts'),
    import('./backup.command.ts'),
    import('./import/import.command.ts'),
    import('./export/export.command.ts'),
  ]);
  models.modelsCommand(program);
  admin.adminCommands(program);
  gc.gcCommand(program);
  backup.backupCommands(program);
  imports.importCommand(program);
  exports.exportCommand(program);
}

async function main(): Promise<void> {
  const program = new Command();
  program
    .name('trove')
    .description('Trove: a self-hosted experiment tracking server and model registry for the MLflow client.')
    .version(TROVE_VERSION);

  serverCommand(program);
  // argv[2] is the subcommand (commander's `node script …` convention). Anything else — another
  // command, `--help`, `help server`, a typo commander suggests a name for — sees every command.
  if (process.argv[2] !== 'server') await otherCommands(program);

  await program.parseAsync(process.argv);
}

// No top-level await: the bundle is CommonJS (scripts/build.mjs). A rejection is unhandled, so it
// is printed with its stack and the process exits with status 1, as before.
void main();
