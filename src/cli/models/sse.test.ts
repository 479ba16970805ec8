import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SseParser } from './sse.ts';

describe('server-sent events parser', () => {
  test('messages carry their id, event name and joined data lines; comments and retry are reported', () => {
    const parser = new SseParser();
    const items = parser.push('retry: 3000\n: hello\n\nid: 7\ndata: {"a":\ndata: 1}\n\nevent: ping\ndata: x\n\n');
    assert.deepEqual(items, [
      { kind: 'retry', ms: 3000 },
      { kind: 'comment', text: 'hello' },
      { kind: 'message', message: { id: '7', event: 'message', data: '{"a":\n1}' } },
      { kind: 'message', message: { id: '7', event: 'ping', data: 'x' } },
    ]);
  });

  test('input split anywhere, with CRLF or CR line ends, parses the same', () => {
    const text = 'id: 1\r\ndata: one\r\n\r\nid: 2\rdata: two\r\r';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const items = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut)), ...parser.push('\n')];
      const messages = items.flatMap((i) => (i.kind === 'message' ? [i.message] : []));
      assert.deepEqual(messages.map((m) => `${m.id}:${m.data}`), ['1:one', '2:two'], `cut at ${cut}`);
    }
  });

  test('a block without data dispatches nothing', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('id: 5\n\n'), []);
    assert.deepEqual(parser.push('data: later\n\n'), [{ kind: 'message', message: { id: '5', event: 'message', data: 'later' } }]);
  });
});
