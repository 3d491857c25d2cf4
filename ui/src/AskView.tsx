import { useState } from "react";
import { api, errorMessage, type Excerpt } from "./api";
import { formatDate } from "./format";
import { plainText } from "./plainText";
import { SimilarityBar } from "./SimilarityBar";
import { Markdown } from "./Markdown";

/** "Ask your history": the answer streams in; the cited excerpts open their message. */
export function AskView({ onOpen }: { onOpen: (conversationId: string, messageId: string) => void }) {
  const [question, setQuestion] = useState("");
  const [answer, setAnswer] = useState("");
  const [excerpts, setExcerpts] = useState<Excerpt[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const ask = () => {
    const q = question.trim();
    if (!q || busy) return;
    setBusy(true);
    setAnswer("");
    setExcerpts([]);
    setError(null);
    api
      .askHistory(q, (piece) => setAnswer((a) => a + piece))
      .then(
        (r) => {
          setAnswer(r.answer);
          setExcerpts(r.excerpts);
        },
        (e) => setError(errorMessage(e)),
      )
      .finally(() => setBusy(false));
  };

  return (
    <section className="ask" data-testid="ask-view">
      <h1>Ask your history</h1>
      <form
        className="ask-form"
        onSubmit={(e) => {
          e.preventDefault();
          ask();
        }}
      >
        <input
          autoFocus
          data-testid="ask-input"
          value={question}
          placeholder="What did I discuss about travel?"
          onChange={(e) => setQuestion(e.target.value)}
          aria-label="Question"
        />
        <button type="submit" disabled={busy || !question.trim()} data-testid="ask-submit">
          {busy ? "Asking…" : "Ask"}
        </button>
      </form>
      {error && <p className="error-text">{error}</p>}
      {answer && (
        <div className="answer" data-testid="ask-answer">
          <Markdown text={answer} />
        </div>
      )}
      {excerpts.length > 0 && (
        <ol className="excerpts" data-testid="ask-excerpts">
          {excerpts.map((e, i) => (
            <li key={e.message_id}>
              <button
                className="search-hit"
                data-testid="ask-excerpt"
                data-conversation-id={e.conversation_id}
                onClick={() => onOpen(e.conversation_id, e.message_id)}
              >
                <span className="conversation-meta">
                  <strong>[{i + 1}]</strong>
                  <span>{e.title}</span>
                  <span>{formatDate(e.timestamp)}</span>
                  <SimilarityBar value={e.similarity} />
                </span>
                {e.previous && e.message.length <= 160 && (
                  <span className="search-context" data-testid="ask-excerpt-context">
                    {e.previous.sender === "user" ? "You" : "Assistant"}: {plainText(e.previous.content)}
                  </span>
                )}
                <span className="search-snippet">{plainText(e.message)}</span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
