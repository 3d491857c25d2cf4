import type { ConversationDetail } from "./api";
import { formatDateTime, formatTime } from "./format";

// Message text is rendered as text (React escapes it); markdown rendering with sanitising
// comes with the chat view.
export function ConversationView({ detail }: { detail: ConversationDetail }) {
  const c = detail.conversation;
  return (
    <section className="conversation" data-testid="conversation-view">
      <header className="conversation-header">
        <h1 data-testid="conversation-heading">{c.title}</h1>
        <p className="muted">
          <span className={`badge ${c.status}`}>{c.status}</span> started {formatDateTime(c.start_time)}
          {c.end_time && <> · ended {formatDateTime(c.end_time)}</>}
        </p>
        {c.summary && <p className="summary">{c.summary}</p>}
      </header>
      <ol className="messages">
        {detail.messages.map((m) => (
          <li key={m.id} className={`message ${m.sender}`} data-testid="message">
            <div className="message-meta">
              <strong>{m.sender === "user" ? "You" : "Assistant"}</strong>
              <time dateTime={m.timestamp}>{formatTime(m.timestamp)}</time>
              {m.state !== "complete" && <span className={`badge ${m.state}`}>{m.state}</span>}
              {m.is_bookmarked && <span title="Bookmarked">🔖</span>}
              {m.reactions.length > 0 && <span>{m.reactions.join(" ")}</span>}
            </div>
            <div className="message-body">{m.content}</div>
          </li>
        ))}
      </ol>
    </section>
  );
}
