/**
 * Ids that must be unique but need not be unguessable: request ids, a dispatcher's lease token.
 * UUID-shaped (version 4 layout) from a random per-process prefix and a counter, so that making
 * one never loads node:crypto: a start and its first requests then leave that module (1.1 MiB of
 * RSS) unloaded (scripts/build.mjs, LAZY_BUILTINS; docs/memory.md). Never use one as a secret:
 * tokens, keys and run ids come from node:crypto.
 */
let prefix: string | undefined;
let counter = 0;

/** 72 random bits from V8's generator (seeded from the OS at process start), as `xxxxxxxx-xxxx-4xxx-8xxx`. */
function randomPrefix(): string {
  const hex = Array.from({ length: 3 }, () => Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(12, 15)}-8${hex.slice(15, 18)}`;
}

/** A new id, `xxxxxxxx-xxxx-4xxx-8xxx-nnnnnnnnnnnn`: 72 random bits per process, then a counter. */
export function processUniqueId(): string {
  prefix ??= randomPrefix();
  counter = (counter + 1) % 0x1_0000_0000_0000;
  return `${prefix}-${counter.toString(16).padStart(12, '0')}`;
}
