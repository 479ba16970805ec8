import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as promClient from 'prom-client';
import { Counter, Gauge, Histogram } from './prometheus-text.ts';

describe('the request metrics kept without prom-client', () => {
  it('are written line for line as prom-client writes the same counters, gauges and histograms', async () => {
    const registry = new promClient.Registry();
    const registers = [registry];
    const theirs = {
      requests: new promClient.Counter({ name: 'a_total', help: 'Requests\nby "route" \\ status.', labelNames: ['method', 'route'], registers }),
      points: new promClient.Counter({ name: 'b_total', help: 'Points.', registers }),
      unused: new promClient.Counter({ name: 'c_total', help: 'Never counted.', labelNames: ['direction'], registers }),
      inFlight: new promClient.Gauge({ name: 'd', help: 'In flight.', labelNames: ['route'], registers }),
      latency: new promClient.Histogram({ name: 'e_seconds', help: 'Latency.', labelNames: ['method', 'route'], buckets: [0.001, 0.5, 1], registers }),
    };
    const ours = {
      requests: new Counter('a_total', 'Requests\nby "route" \\ status.', { labelled: true }),
      points: new Counter('b_total', 'Points.', { labelled: false }),
      unused: new Counter('c_total', 'Never counted.', { labelled: true }),
      inFlight: new Gauge('d', 'In flight.', { labelled: true }),
      latency: new Histogram('e_seconds', 'Latency.', [0.001, 0.5, 1]),
    };
    // The same calls on both (prom-client has these overloads too).
    for (const metrics of [theirs as unknown as typeof ours, ours]) {
      metrics.requests.inc({ method: 'GET', route: '/a"b\\c\nd' });
      metrics.requests.inc({ method: 'GET', route: '/a"b\\c\nd' }, 2);
      metrics.requests.inc({ method: 'POST', route: '/x' });
      metrics.points.inc(1000);
      metrics.inFlight.inc({ route: '/x' });
      metrics.inFlight.inc({ route: '/y' });
      metrics.inFlight.dec({ route: '/x' });
      for (const seconds of [0.0004, 0.001, 0.3, 0.7, 2]) metrics.latency.observe({ method: 'GET', route: '/x' }, seconds);
      metrics.latency.observe({ method: 'POST', route: '/y' }, 0.01);
    }
    const mine = [ours.requests, ours.points, ours.unused, ours.inFlight, ours.latency].map((metric) => metric.render()).join('\n');
    assert.equal(mine, await registry.metrics());
  });
});
