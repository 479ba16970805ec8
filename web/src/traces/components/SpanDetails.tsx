import { useMemo } from 'react';
import { Facts } from '../../common/components/ui.tsx';
import { formatTimestamp } from '../../common/utils/format.ts';
import { chatMessagesOf } from '../utils/chat.ts';
import type { Span, SpanEvent } from '../utils/spans.ts';
import { formatTokenUsage } from '../utils/token-usage.ts';
import { formatOffset, formatSpanDuration } from '../utils/waterfall.ts';
import { ChatView } from './ChatView.tsx';
import { JsonView } from './JsonView.tsx';
import { TraceStateBadge } from './TraceStateBadge.tsx';

/** One span: its facts, the conversation when it carries chat messages, inputs, outputs, attributes, events. */
export function SpanDetails({ span, traceStart }: { span: Span; traceStart: number }) {
  const messages = useMemo(() => chatMessagesOf(span), [span]);
  const attributeCount = Object.keys(span.attributes).length;
  return (
    <div className="span-details" aria-label={`Span ${span.name}`} role="region">
      <h2 className="span-title">
        <span className="span-label">{span.name}</span> <span className="badge badge-muted">{span.type}</span> <TraceStateBadge state={span.statusCode} />
      </h2>
      <Facts
        items={[
          ['Span ID', <span className="mono">{span.hexId}</span>],
          ['Starts at', `+${formatOffset(Math.max(0, span.start - traceStart))} · ${formatTimestamp(span.start)}`],
          ['Duration', span.end === undefined ? 'still running' : formatSpanDuration(span.end - span.start)],
          ...(span.tokenUsage ? ([['Tokens', formatTokenUsage(span.tokenUsage)]] as Array<[string, string]>) : []),
          ...(span.statusMessage ? ([['Status message', span.statusMessage]] as Array<[string, string]>) : []),
        ]}
      />
      {messages && (
        <Section id="chat" title="Conversation">
          <ChatView messages={messages} />
        </Section>
      )}
      <Section id="inputs" title="Inputs">
        {span.inputs === undefined ? <p className="muted">No inputs recorded.</p> : <JsonView value={span.inputs} label="Span inputs" />}
      </Section>
      <Section id="outputs" title="Outputs">
        {span.outputs === undefined ? <p className="muted">No outputs recorded.</p> : <JsonView value={span.outputs} label="Span outputs" />}
      </Section>
      <Section id="attributes" title={`Attributes (${attributeCount})`}>
        {attributeCount === 0 ? <p className="muted">No other attributes.</p> : <JsonView value={span.attributes} label="Span attributes" openDepth={1} />}
      </Section>
      <Section id="events" title={`Events (${span.events.length})`}>
        {span.events.length === 0 ? <p className="muted">No events.</p> : span.events.map((event, i) => <EventView key={i} event={event} traceStart={traceStart} />)}
      </Section>
    </div>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section className="span-section" aria-labelledby={`span-section-${id}`}>
      <h3 id={`span-section-${id}`}>{title}</h3>
      {children}
    </section>
  );
}

/** An event; an `exception` event as its type, message and stack trace. */
function EventView({ event, traceStart }: { event: SpanEvent; traceStart: number }) {
  const when = event.time === undefined ? '' : `+${formatOffset(Math.max(0, event.time - traceStart))}`;
  if (event.name === 'exception') {
    const { 'exception.type': type, 'exception.message': message, 'exception.stacktrace': stack, ...rest } = event.attributes;
    return (
      <div className="span-event span-exception" role="group" aria-label="Exception">
        <div>
          <strong className="error-text">{String(type ?? 'Exception')}</strong>: {String(message ?? '')} <span className="muted small">{when}</span>
        </div>
        {stack !== undefined && <pre className="stack-trace">{String(stack)}</pre>}
        {Object.keys(rest).length > 0 && <JsonView value={rest} label="Exception attributes" openDepth={1} />}
      </div>
    );
  }
  return (
    <div className="span-event" role="group" aria-label={`Event ${event.name}`}>
      <div>
        <strong>{event.name}</strong> <span className="muted small">{when}</span>
      </div>
      {Object.keys(event.attributes).length > 0 && <JsonView value={event.attributes} label={`Attributes of event ${event.name}`} openDepth={1} />}
    </div>
  );
}
