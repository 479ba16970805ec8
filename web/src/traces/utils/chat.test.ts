import { describe, expect, it } from 'vitest';
import { chatMessagesOf, toChatMessage } from './chat.ts';

const span = (type: string, inputs: unknown, outputs: unknown, allAttributes: Record<string, unknown> = {}) => ({ type, inputs, outputs, allAttributes });

describe('chat message detection', () => {
  it('reads OpenAI-style messages in the inputs and choices in the outputs as one conversation', () => {
    const messages = chatMessagesOf(
      span(
        'CHAT_MODEL',
        { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'meaning of life?' }], model: 'tiny' },
        { choices: [{ index: 0, message: { role: 'assistant', content: '42' } }] },
      ),
    );
    expect(messages?.map((m) => [m.role, m.content, m.from])).toEqual([
      ['system', 'Be brief.', 'input'],
      ['user', 'meaning of life?', 'input'],
      ['assistant', '42', 'output'],
    ]);
  });

  it('keeps tool calls and joins text parts of content lists', () => {
    const messages = chatMessagesOf(
      span(
        'LLM',
        { messages: [{ role: 'user', content: [{ type: 'text', text: 'weather?' }, { type: 'image_url', image_url: { url: 'x' } }] }] },
        { choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] } }] },
      ),
    );
    expect(messages?.[0]?.content).toBe('weather?\n[image]');
    expect(messages?.[1]?.toolCalls).toEqual([{ id: 'c1', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
  });

  it('reads an Anthropic-style answer and system prompt', () => {
    const messages = chatMessagesOf(span('CHAT_MODEL', { system: 'Be kind.', messages: [{ role: 'user', content: 'hi' }] }, { role: 'assistant', content: [{ type: 'text', text: 'hello' }] }));
    expect(messages?.map((m) => `${m.role}:${m.content}`)).toEqual(['system:Be kind.', 'user:hi', 'assistant:hello']);
  });

  it('maps LangChain message types and unwraps its batches', () => {
    const messages = chatMessagesOf(span('CHAT_MODEL', [[{ type: 'human', content: 'hi' }]], { type: 'ai', content: 'yo' }));
    expect(messages?.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('uses the mlflow.chat.messages attribute of older MLflow versions first', () => {
    const messages = chatMessagesOf(span('CHAT_MODEL', { prompt: 'x' }, 'y', { 'mlflow.chat.messages': [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }));
    expect(messages?.map((m) => m.content)).toEqual(['a', 'b']);
  });

  it('takes a plain string answer of a chat span as the assistant reply', () => {
    expect(chatMessagesOf(span('CHAT_MODEL', { messages: [{ role: 'user', content: 'q' }] }, 'a'))?.at(-1)).toEqual({ role: 'assistant', content: 'a', from: 'output' });
  });

  it('finds no conversation where there are no messages', () => {
    expect(chatMessagesOf(span('RETRIEVER', { q: 'meaning of life?' }, [{ doc: 'x' }]))).toBeUndefined();
    expect(chatMessagesOf(span('UNKNOWN', { messages: 'not a list' }, null))).toBeUndefined();
    expect(chatMessagesOf(span('UNKNOWN', { messages: [{ role: 'user', content: 'ok' }, { foo: 1 }] }, null))).toBeUndefined();
    expect(chatMessagesOf(span('UNKNOWN', [{ role: 'wizard', content: 'x' }], null))).toBeUndefined();
    expect(toChatMessage('hello', 'input')).toBeUndefined();
  });
});
