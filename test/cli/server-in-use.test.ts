import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { describe, it } from 'node:test';
import { IN_USE_REQUESTS, signalInUse } from '../../src/cli/server.command.ts';

describe("the server's in-use signal (bin/trove.js restores V8's optimizing defaults on it)", () => {
  it('is emitted once, with the hundredth request, and stops counting after it', () => {
    const server = new EventEmitter();
    let signals = 0;
    const onSignal = (): void => {
      signals += 1;
    };
    process.on('trove:in-use', onSignal);
    try {
      signalInUse(server as unknown as Server);
      for (let i = 1; i < IN_USE_REQUESTS; i++) server.emit('request');
      assert.equal(signals, 0, 'not before the hundredth request');
      server.emit('request');
      assert.equal(signals, 1);
      for (let i = 0; i < 500; i++) server.emit('request');
      assert.equal(signals, 1, 'once');
      assert.equal(server.listenerCount('request'), 0, 'its listener removed');
    } finally {
      process.off('trove:in-use', onSignal);
    }
  });
});
