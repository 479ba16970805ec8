import { createRequire } from 'node:module';

type MimeTypes = typeof import('mime-types');

let loaded: MimeTypes | undefined;

/**
 * mime-types, loaded with the first content type guessed: its database (mime-db, ~2,000
 * types) costs ~10 ms and about a megabyte at startup, and many starts never serve a file.
 * Required from node_modules at run time (scripts/build.mjs keeps it out of the bundle).
 */
export function mimeTypes(): MimeTypes {
  loaded ??= createRequire(import.meta.url)('mime-types') as MimeTypes;
  return loaded;
}
