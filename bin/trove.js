#!/usr/bin/env node
// Entry point of the `trove` command. The sources are TypeScript run through tsx, so there is
// no build step between `npm ci` and a working server.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
