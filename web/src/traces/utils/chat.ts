/**
 * Chat messages carried by a span, for the conversation view. Pure functions.
 *
 * Shapes recognised: OpenAI-style `{"messages": [...]}` inputs with `{"choices": [{"message"}]}`
 * outputs (what MLflow's autologging and `CHAT_MODEL` spans record), a bare list of messages, an
 * Anthropic-style output (`{"role": "assistant", "content": [{"type": "text", ...}]}`), LangChain's
 * message types (`human`/`ai`), and the `mlflow.chat.messages` attribute of older MLflow versions.
 */
import { SPAN_KEYS, type Span } from './spans.ts';

export interface ChatToolCall {
  id?: string;
  name: string;
  arguments: string;
}

export interface ChatMessage {
  role: string;
  /** The text of the message (text parts joined); empty for a tool call without text. */
  content: string;
  name?: string;
  toolCalls?: ChatToolCall[];
  /** Where it came from: the request or the model's answer. */
  from: 'input' | 'output';
}

const CHAT_SPAN_TYPES = new Set(['CHAT_MODEL', 'LLM']);
const ROLE_ALIASES: Record<string, string> = { human: 'user', ai: 'assistant', AIMessage: 'assistant', HumanMessage: 'user', SystemMessage: 'system', model: 'assistant' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A message's content as text: a string, or the text parts of a content list. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    const parts: string[] = [];
    for (const part of content) {
      if (typeof part === 'string') parts.push(part);
      else if (isRecord(part)) {
        if (typeof part.text === 'string') parts.push(part.text);
        else if (part.type === 'image_url' || part.type === 'image') parts.push('[image]');
        else if (part.type === 'tool_use' && typeof part.name === 'string') parts.push(`[tool call: ${part.name}]`);
        else if (part.type === 'tool_result') parts.push(contentText(part.content) ?? '');
      }
    }
    return parts.join('\n');
  }
  return undefined;
}

function toolCallsOf(value: unknown): ChatToolCall[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const calls: ChatToolCall[] = [];
  for (const call of value) {
    if (!isRecord(call)) continue;
    const fn = isRecord(call.function) ? call.function : call;
    const name = typeof fn.name === 'string' ? fn.name : undefined;
    if (!name) continue;
    const args = fn.arguments ?? fn.args ?? fn.input;
    calls.push({ ...(typeof call.id === 'string' ? { id: call.id } : {}), name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) });
  }
  return calls.length > 0 ? calls : undefined;
}

/** One message, or undefined when the value is not shaped like one. */
export function toChatMessage(value: unknown, from: ChatMessage['from']): ChatMessage | undefined {
  if (!isRecord(value)) return undefined;
  const rawRole = typeof value.role === 'string' ? value.role : typeof value.type === 'string' ? value.type : undefined;
  if (!rawRole) return undefined;
  const role = ROLE_ALIASES[rawRole] ?? rawRole;
  if (!['system', 'user', 'assistant', 'tool', 'function', 'developer'].includes(role)) return undefined;
  const content = contentText(value.content);
  const toolCalls = toolCallsOf(value.tool_calls) ?? (Array.isArray(value.content) ? toolCallsOf(value.content.filter((p) => isRecord(p) && p.type === 'tool_use')) : undefined);
  if (content === undefined && !toolCalls) return undefined;
  return {
    role,
    content: content ?? '',
    ...(typeof value.name === 'string' ? { name: value.name } : {}),
    ...(toolCalls ? { toolCalls } : {}),
    from,
  };
}

/** A list in which every entry is a message, or undefined. */
function messageList(value: unknown, from: ChatMessage['from']): ChatMessage[] | undefined {
  // LangChain batches: [[message, ...]].
  const list = Array.isArray(value) && value.length === 1 && Array.isArray(value[0]) ? value[0] : value;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const messages = list.map((m) => toChatMessage(m, from));
  return messages.every((m): m is ChatMessage => m !== undefined) ? messages : undefined;
}

function inputMessages(inputs: unknown): ChatMessage[] | undefined {
  if (isRecord(inputs)) {
    const messages = messageList(inputs.messages, 'input');
    if (!messages) return undefined;
    // Anthropic's system prompt sits beside the messages.
    const system = contentText(inputs.system);
    return system ? [{ role: 'system', content: system, from: 'input' }, ...messages] : messages;
  }
  return messageList(inputs, 'input');
}

function outputMessages(outputs: unknown): ChatMessage[] | undefined {
  if (typeof outputs === 'string') return undefined;
  if (isRecord(outputs)) {
    if (Array.isArray(outputs.choices)) {
      const messages = outputs.choices.map((c) => (isRecord(c) ? toChatMessage(c.message ?? c.delta, 'output') : undefined)).filter((m): m is ChatMessage => m !== undefined);
      return messages.length > 0 ? messages : undefined;
    }
    if (isRecord(outputs.message)) {
      const message = toChatMessage(outputs.message, 'output');
      return message ? [message] : undefined;
    }
    const message = toChatMessage(outputs, 'output');
    return message ? [message] : undefined;
  }
  return messageList(outputs, 'output');
}

/**
 * The conversation a span carries (request messages, then the answer), or undefined when it
 * carries none. A plain string answer of a chat span counts as the assistant's reply.
 */
export function chatMessagesOf(span: Pick<Span, 'type' | 'inputs' | 'outputs' | 'allAttributes'>): ChatMessage[] | undefined {
  const recorded = messageList(span.allAttributes[SPAN_KEYS.chatMessages], 'input');
  if (recorded) return recorded;
  const input = inputMessages(span.inputs);
  if (!input) return undefined;
  const output = outputMessages(span.outputs);
  if (output) return [...input, ...output];
  if (typeof span.outputs === 'string' && span.outputs && CHAT_SPAN_TYPES.has(span.type)) return [...input, { role: 'assistant', content: span.outputs, from: 'output' }];
  return input;
}
