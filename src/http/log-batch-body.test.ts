import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readLogBatchBody, parseLogBatchRequestBody, logBatchBodyOf, type LogBatchBody } from './log-batch-body.ts';
import { readLogBatch } from './log-batch-request.ts';
import { logBatchSchema, toMetricInput } from './runs.routes.ts';
import { parseJsonBody } from './json-body.ts';

/** What the JSON path hands the domain for a body: JSON.parse, then the reader without zod or the zod schema. */
function throughJson(text: string) {
  let fields: unknown;
  try {
    fields = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return undefined;
  const record = fields as Record<string, unknown>;
  const fast = readLogBatch(record);
  const schema = logBatchSchema.safeParse(record);
  // The two JSON readers agree (log-batch-request.test.ts); take whichever accepted.
  if (fast) {
    return { run_id: fast.run_id, run_uuid: fast.run_uuid, metrics: fast.metrics.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step })), params: fast.params, tags: fast.tags, plain: fast.metrics.every((m) => m.modelId === undefined && m.datasetName === undefined && m.datasetDigest === undefined) };
  }
  if (!schema.success) return undefined;
  const input = schema.data;
  const metrics = (input.metrics ?? []).map(toMetricInput);
  return { run_id: input.run_id, run_uuid: input.run_uuid, metrics: metrics.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step })), params: input.params ?? [], tags: input.tags ?? [], plain: false };
}

/** The columns as the domain's metric objects, to compare with the JSON path. */
function fromColumns(body: LogBatchBody) {
  const { keys, keyIndex, value, timestamp, step } = body.metrics;
  const metrics = [];
  for (let i = 0; i < body.metrics.length; i++) metrics.push({ key: keys[keyIndex[i]!]!, value: value[i]!, timestamp: timestamp[i]!, step: step[i]! });
  return { run_id: body.run_id, run_uuid: body.run_uuid, metrics, params: body.params, tags: body.tags };
}

/** Same values, with NaN equal to NaN and -0 different from 0 (Object.is), field by field. */
function assertSameBatch(actual: ReturnType<typeof fromColumns>, expected: NonNullable<ReturnType<typeof throughJson>>, text: string): void {
  assert.equal(actual.run_id, expected.run_id, text);
  assert.equal(actual.run_uuid, expected.run_uuid, text);
  assert.equal(actual.metrics.length, expected.metrics.length, text);
  for (let i = 0; i < actual.metrics.length; i++) {
    const a = actual.metrics[i]!;
    const e = expected.metrics[i]!;
    assert.equal(a.key, e.key, `key of point ${i} in ${text}`);
    for (const field of ['value', 'timestamp', 'step'] as const) {
      assert.ok(Object.is(a[field], e[field]), `${field} of point ${i}: ${a[field]} against ${e[field]} in ${text}`);
    }
  }
  assert.deepEqual(actual.params, expected.params.map((p) => ({ key: p.key, value: p.value })), text);
  assert.deepEqual(actual.tags, expected.tags.map((t) => ({ key: t.key, value: t.value })), text);
}

/** A small seeded generator (mulberry32), so a failure names a body that can be reproduced. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function generator(seed: number) {
  const rnd = random(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const ws = () => (rnd() < 0.8 ? '' : pick([' ', '\n', '\t', '\r\n  ', '  ']));
  const shuffle = <T,>(list: T[]): T[] => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  };
  /** A JSON string literal: plain ASCII, unicode written raw or escaped, escapes of every kind. */
  const stringLiteral = (): string => {
    const plain = pick(['loss', 'acc', 'a/b', 'm0', 'train.loss', '', 'x y', 'lr']);
    switch (Math.floor(rnd() * 8)) {
      case 0:
        return JSON.stringify(`${plain}é`);
      case 1:
        return JSON.stringify(`${plain}📈`);
      case 2:
        return `"${plain}\\u00e9"`;
      case 3:
        return `"${plain}\\"q\\\\\\n\\t\\/"`;
      case 4:
        return `"\\ud83d\\ude00${plain}"`;
      case 5:
        return JSON.stringify(`${plain}${'z'.repeat(Math.floor(rnd() * 300))}`);
      default:
        return JSON.stringify(plain);
    }
  };
  const integer = (): string =>
    pick([
      '0',
      '-0',
      '1',
      '-1',
      '17',
      '1700000000000',
      '9007199254740991',
      '-9007199254740991',
      '9007199254740992',
      '123456789012345678',
      '1.0',
      '1e3',
      '1E+2',
      '2.5',
      '"17"',
      '"-2"',
      'null',
      'true',
      '-5e-1',
      String(Math.floor(rnd() * 1e6)),
    ]);
  const double = (): string =>
    pick([
      '0',
      '-0',
      '0.5',
      '-0.0',
      '1e-7',
      '6.02214076e23',
      '1E400',
      '-1e400',
      '4.9e-324',
      '1.7976931348623157e308',
      '0.1',
      '123456789012345678901234567890',
      '"NaN"',
      '"Infinity"',
      '"-Infinity"',
      '"nan"',
      '"1.5"',
      'null',
      '"inf"',
      String(Math.cos(rnd() * 1000)),
      String(rnd() * 1e6),
      String(-rnd()),
    ]);
  const metric = (): string => {
    const fields: string[] = [`"key"${ws()}:${ws()}${rnd() < 0.02 ? '5' : stringLiteral()}`, `"value":${ws()}${double()}`, `"timestamp":${integer()}`];
    if (rnd() < 0.8) fields.push(`"step"${ws()}:${integer()}`);
    if (rnd() < 0.03) fields.splice(Math.floor(rnd() * fields.length), 1); // a missing field
    if (rnd() < 0.02) fields.push(pick(['"model_id":"m-1"', '"dataset_name":"d"', '"extra":1', '"step":3', '"key":"dup"']));
    return `{${ws()}${shuffle(fields).join(`${ws()},${ws()}`)}${ws()}}`;
  };
  const keyValue = (): string => {
    const fields = [`"key":${stringLiteral()}`, `"value":${rnd() < 0.03 ? '1' : stringLiteral()}`];
    if (rnd() < 0.03) fields.pop();
    return `{${shuffle(fields).join(',')}}`;
  };
  const list = (item: () => string, max: number): string => {
    const n = Math.floor(rnd() * max);
    return `[${ws()}${Array.from({ length: n }, item).join(`,${ws()}`)}${ws()}]`;
  };
  return (): string => {
    const fields: string[] = [];
    if (rnd() < 0.9) fields.push(`"run_id":${ws()}${rnd() < 0.02 ? '7' : JSON.stringify(`run${Math.floor(rnd() * 100)}`)}`);
    if (rnd() < 0.1) fields.push(`"run_uuid":"u1"`);
    if (rnd() < 0.9) fields.push(`"metrics":${list(metric, 12)}`);
    if (rnd() < 0.3) fields.push(`"params":${list(keyValue, 4)}`);
    if (rnd() < 0.3) fields.push(`"tags":${list(keyValue, 4)}`);
    if (rnd() < 0.02) fields.push(pick(['"other":1', '"metrics":[]', '"run_id":"again"', '"metrics":null']));
    return `${ws()}{${ws()}${shuffle(fields).join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
  };
}

describe('the log-batch body read from its bytes', () => {
  test('hands the domain what JSON.parse and the JSON path give for thousands of generated bodies, or leaves the body to that path', () => {
    const next = generator(14);
    let read = 0;
    let left = 0;
    for (let i = 0; i < 5000; i++) {
      const text = next();
      const body = readLogBatchBody(Buffer.from(text, 'utf8'));
      const expected = throughJson(text);
      if (body === undefined) {
        left++;
        continue;
      }
      read++;
      assert.ok(expected, `the JSON path refuses a body the reader took: ${text}`);
      assertSameBatch(fromColumns(body), expected, text);
    }
    // Most generated bodies are plain ones; the rest exercise the fallback.
    assert.ok(read > 500, `read ${read}`);
    assert.ok(left > 100, `left ${left}`);
  });

  test('takes every plain body the JSON path accepts, whatever its key order, whitespace, unicode and escapes', () => {
    const bodies = [
      '{"run_id":"r1","metrics":[{"key":"loss","value":0.5,"timestamp":1700000000000,"step":3}]}',
      ' {\n "metrics" : [ { "step" : 2 , "timestamp" : 5 , "value" : -0 , "key" : "a" } ] ,\t"run_id" : "r1" } \n',
      '{"run_id":"r1","metrics":[{"key":"é📈","value":"NaN","timestamp":1},{"key":"\\u00e9\\ud83d\\udcc8","value":"Infinity","timestamp":2},{"key":"x","value":"-Infinity","timestamp":3,"step":-9007199254740991}]}',
      '{"run_uuid":"u","metrics":[{"key":"a\\"b","value":1e400,"timestamp":0,"step":1.0}],"params":[{"value":"0.1","key":"lr"}],"tags":[{"key":"mlflow.runName","value":"a\\nb"}]}',
      '{"metrics":[]}',
      '{}',
      '{"run_id":"r1","metrics":[{"key":"k","value":4.9e-324,"timestamp":1E3},{"key":"k","value":6.02214076e23,"timestamp":12}]}',
    ];
    for (const text of bodies) {
      const body = readLogBatchBody(Buffer.from(text, 'utf8'));
      assert.ok(body, text);
      const expected = throughJson(text);
      assert.ok(expected, text);
      assertSameBatch(fromColumns(body), expected, text);
    }
  });

  test('leaves to JSON.parse every body that is not exactly the plain shape', () => {
    const bodies = [
      '',
      '   ',
      '[]',
      'null',
      '{"run_id":"r1",}',
      '{"run_id":"r1"} x',
      '{"run_id":"r1","run_id":"r2"}',
      '{"run_id":"r1","metrics":null}',
      '{"run_id":5}',
      '{"run_id":"r1","extra":true}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1,"model_id":"m"}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":"1.5","timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":"1"}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1.5}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":9007199254740992}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":01,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":.5,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1.,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":-,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":NaN,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a\u0001","value":1,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a\\x","value":1,"timestamp":1}]}',
      '{"run_id":"r1","metrics":[{"key":"a","key":"b","value":1,"timestamp":1}]}',
      '{"run_id":"r1","params":[{"key":"a"}]}',
      '{"run_id":"r1","params":[{"key":"a","value":"1","other":"x"}]}',
      '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1}',
      '\ufeff{"run_id":"r1"}',
    ];
    for (const text of bodies) assert.equal(readLogBatchBody(Buffer.from(text, 'utf8')), undefined, text);
  });

  test('reads every number as JSON.parse does, to the last bit', () => {
    const rnd = random(53);
    const literals: string[] = ['0', '-0', '0.0', '-0.0', '9007199254740991', '9007199254740992', '9007199254740993', '0.1', '0.3', '1e22', '1e23', '1e-22', '1e-23', '123456789012345.6', '2.2250738585072014e-308', '5e-324', '1.7976931348623157e308', '1e400', '-1e-400', '0.000000000000000000000000001', '100000000000000000000000', '1E+0', '1e-0', '12345678901234567890e-10'];
    for (let i = 0; i < 20000; i++) {
      const magnitude = 10 ** Math.floor(rnd() * 40 - 20);
      const x = (rnd() - 0.5) * magnitude;
      const digits = 1 + Math.floor(rnd() * 20);
      literals.push(pick(rnd, [String(x), x.toExponential(Math.min(digits, 20)), x.toFixed(Math.min(digits, 20)), x.toPrecision(Math.min(digits, 21)), String(Math.cos(i / 100)), String(Math.floor(x))]));
    }
    for (const literal of literals) {
      const text = `{"metrics":[{"key":"k","value":${literal},"timestamp":1}]}`;
      const body = readLogBatchBody(Buffer.from(text));
      assert.ok(body, text);
      const expected = (JSON.parse(text) as { metrics: Array<{ value: number }> }).metrics[0]!.value;
      assert.ok(Object.is(body.metrics.value[0], expected), `${literal}: ${body.metrics.value[0]} against ${expected}`);
    }
  });

  test('decodes invalid UTF-8 in a key as decoding the whole body would', () => {
    const bytes = Buffer.concat([Buffer.from('{"run_id":"r1","metrics":[{"key":"a'), Buffer.from([0xc3, 0xff, 0xe2, 0x82]), Buffer.from('","value":1,"timestamp":1},{"key":"a'), Buffer.from([0xc3, 0xff, 0xe2, 0x82]), Buffer.from('","value":2,"timestamp":2}]}')]);
    const body = readLogBatchBody(bytes);
    assert.ok(body);
    const expected = throughJson(bytes.toString('utf8'));
    assert.ok(expected);
    assertSameBatch(fromColumns(body), expected, bytes.toString('utf8'));
    assert.equal(body.metrics.keys.length, 1);
  });

  test('stores each distinct key once and the index of its key per point', () => {
    const text = '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1},{"key":"a","value":2,"timestamp":1},{"key":"b","value":3,"timestamp":1},{"key":"a","value":4,"timestamp":1},{"key":"ab","value":5,"timestamp":1}]}';
    const body = readLogBatchBody(Buffer.from(text));
    assert.deepEqual(body?.metrics.keys, ['a', 'b', 'ab']);
    assert.deepEqual([...(body?.metrics.keyIndex ?? [])], [0, 0, 1, 0, 2]);
  });

  test('the route parser answers the JSON parser\'s value or error for a body it leaves, and marks only the bodies it read', () => {
    for (const text of ['', '{"run_id":"r1","other":1}', '{"run_id":', '[1]', '{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":"1"}]}']) {
      assert.deepEqual(parseLogBatchRequestBody(Buffer.from(text)), parseJsonBody(text), text);
    }
    const parsed = parseLogBatchRequestBody(Buffer.from('{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1}]}'));
    assert.ok('value' in parsed);
    assert.ok(logBatchBodyOf(parsed.value));
    // A JSON body shaped like the reader's result is still a JSON body.
    const lookalike = JSON.parse('{"run_id":"r1","metrics":{"kind":"metric-columns","length":1}}') as unknown;
    assert.equal(logBatchBodyOf(lookalike), undefined);
  });
});
