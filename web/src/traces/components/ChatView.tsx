import type { ChatMessage } from '../utils/chat.ts';

const ROLE_LABEL: Record<string, string> = { system: 'System', user: 'User', assistant: 'Assistant', tool: 'Tool', function: 'Function', developer: 'Developer' };

/** A span's chat messages as a conversation: one bubble per message, the model's answer last. */
export function ChatView({ messages }: { messages: ChatMessage[] }) {
  return (
    <ol className="chat" aria-label="Conversation">
      {messages.map((m, i) => (
        <li key={i} className={`chat-message chat-${m.role}${m.from === 'output' ? ' chat-answer' : ''}`} aria-label={`${ROLE_LABEL[m.role] ?? m.role} message`}>
          <div className="chat-role">
            {ROLE_LABEL[m.role] ?? m.role}
            {m.name && <span className="muted small"> · {m.name}</span>}
            {m.from === 'output' && <span className="badge badge-muted">response</span>}
          </div>
          {m.content && <div className="chat-content wrap">{m.content}</div>}
          {m.toolCalls?.map((call, j) => (
            <div key={call.id ?? j} className="chat-tool-call">
              <span className="muted small">calls tool</span> <code>{call.name}</code>
              <pre className="chat-tool-args">{prettyArguments(call.arguments)}</pre>
            </div>
          ))}
        </li>
      ))}
    </ol>
  );
}

function prettyArguments(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}
