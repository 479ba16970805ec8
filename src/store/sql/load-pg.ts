import type pg from 'pg';

/**
 * node-postgres, loaded on first use. At load time pg asks whether it runs in a Cloudflare Worker
 * by constructing a `Response`; on Node 20 reading that global loads the whole fetch
 * implementation (undici), ~20 ms of CPU that a PostgreSQL server's start does not need
 * (docs/memory.md, "Cold start"). The global is hidden during the (synchronous) require only and
 * then restored, still lazy; pg's answer (not a Worker) is the same. The compiled server loads
 * pg bundled into one file of its own (dist/pg.cjs, scripts/build.mjs): ~20 ms less CPU than
 * its ~30 files from node_modules.
 */
export async function loadPg(): Promise<typeof pg> {
  const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  const hide = response?.configurable === true;
  if (hide) Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    return (await import('pg')).default;
  } finally {
    if (hide) Object.defineProperty(globalThis, 'Response', response);
  }
}
