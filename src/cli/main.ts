import { Command } from 'commander';
import { TROVE_VERSION } from '../version.ts';
import { serverCommand } from './server.command.ts';
import { modelsCommand } from './models-pull.command.ts';
import { adminCommands } from './admin.commands.ts';
import { gcCommand } from './gc.command.ts';
import { backupCommands } from './backup.command.ts';
import { importCommand } from './import/import.command.ts';
import { exportCommand } from './export/export.command.ts';

const program = new Command();
program
  .name('trove')
  .description('Trove: a self-hosted experiment tracking server and model registry for the MLflow client.')
  .version(TROVE_VERSION);

serverCommand(program);
modelsCommand(program);
adminCommands(program);
gcCommand(program);
backupCommands(program);
importCommand(program);
exportCommand(program);

// No top-level await: the bundle is CommonJS (scripts/build.mjs). A rejection is unhandled, so it
// is printed with its stack and the process exits with status 1, as before.
void program.parseAsync(process.argv);
