// `node --import ./record-imports.mjs`: appends the URL of every module the process imports or
// requires to the file named by TROVE_RECORD_IMPORTS (one per line), so a test can see what a
// running server has loaded. ES modules: a resolve hook (which Node runs on a thread of its
// own); CommonJS: a wrapper around the require resolver (and Node built-ins, as node:<name>).
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
  // Built-ins required by CommonJS code (the bundle), recorded as node:<name>.
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (process.env.TROVE_RECORD_IMPORTS && typeof request === 'string' && Module.isBuiltin(request)) {
      fs.appendFileSync(process.env.TROVE_RECORD_IMPORTS, `${request.startsWith('node:') ? request : `node:${request}`}\n`);
    }
    return load.call(this, request, ...rest);
  };
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.TROVE_RECORD_IMPORTS) fs.appendFileSync(process.env.TROVE_RECORD_IMPORTS, `${resolved.url}\n`);
  return resolved;
}
