// `node --import ./record-imports.mjs`: appends the URL of every module the process imports or
// requires to the file named by TROVE_RECORD_IMPORTS (one per line), so a test can see what a
// running server has loaded. ES modules: a resolve hook (which Node runs on a thread of its
// own); CommonJS: a wrapper around the require resolver.
import fs from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  register(import.meta.url);
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (...args) {
    const file = resolveFilename.apply(this, args);
    if (process.env.TROVE_RECORD_IMPORTS && file.startsWith('/')) fs.appendFileSync(process.env.TROVE_RECORD_IMPORTS, `${pathToFileURL(file).href}\n`);
    return file;
  };
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.TROVE_RECORD_IMPORTS) fs.appendFileSync(process.env.TROVE_RECORD_IMPORTS, `${resolved.url}\n`);
  return resolved;
}
