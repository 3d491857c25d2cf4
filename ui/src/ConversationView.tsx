import { useEffect, useState } from "react";
import { api, errorMessage, type ConversationDetail } from "./api";
import { formatDateTime, formatTime } from "./format";
import { InsightsPanel } from "./InsightsPanel";

// Message text is rendered as text (React escapes it); markdown rendering with sanitising
// comes with the chat view.
export function ConversationView({
  detail,
  focus,
  onChanged,
}: {
  detail: ConversationDetail;
  /** A message to scroll to and highlight (opened from a search hit or a citation). */
  focus: string | null;
  onChanged: () => void;
}) {
  const c = detail.conversation;
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!focus) return;
    document.querySelector(`[data-message-id="${CSS.escape(focus)}"]`)?.scrollIntoView({ block: "center" });
  }, [focus, detail]);
  const lifecycle = (call: Promise<unknown>) =>
    call.then(
      () => {
        setError(null);
        onChanged();
      },
      (e) => setError(errorMessage(e)),
    );
  return (
    <div className="conversation-layout">
    <section className="conversation" data-testid="conversation-view">
      <header className="conversation-header">
        <div className="conversation-title-row">
          <h1 data-testid="conversation-heading">{c.title}</h1>
          {c.status === "active" ? (
            <button data-testid="end-conversation" onClick={() => lifecycle(api.endConversation(c.id))}>
              End conversation
            </button>
          ) : (
            <button className="secondary" onClick={() => lifecycle(api.reopenConversation(c.id))}>
              Reopen
            </button>
          )}
        </div>
        <p className="muted">
          <span className={`badge ${c.status}`} data-testid="conversation-status">
            {c.status}
          </span>{" "}
          started {formatDateTime(c.start_time)}
          {c.end_time && <> · ended {formatDateTime(c.end_time)}</>}
        </p>
        {error && <p className="error-text">{error}</p>}
      </header>
      <ol className="messages">
        {detail.messages.map((m) => (
          <li
            key={m.id}
            className={`message ${m.sender}${m.id === focus ? " focused" : ""}`}
            data-testid="message"
            data-message-id={m.id}
          >
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
    <InsightsPanel conversation={c} />
    </div>
  );
}
