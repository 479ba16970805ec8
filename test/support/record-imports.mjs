// `node --import ./record-imports.mjs`: appends the URL of every module the process imports to
// the file named by TROVE_RECORD_IMPORTS (one per line), so a test can see what a running server
// has loaded. Registers itself as a module resolve hook (which Node runs on a thread of its own).
import fs from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.TROVE_RECORD_IMPORTS) fs.appendFileSync(process.env.TROVE_RECORD_IMPORTS, `${resolved.url}\n`);
  return resolved;
}
