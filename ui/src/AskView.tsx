import { useEffect, useRef, useState } from "react";
import { api, type AskedQuestion, type Excerpt } from "./api";
import { ErrorLine, shownError, type Shown } from "./ErrorLine";
import { formatDate, formatDateTime } from "./format";
import { plainText } from "./plainText";
import { SimilarityBar } from "./SimilarityBar";
import { CITATION, Markdown } from "./Markdown";

/** A question of a thread and what it got. */
interface Turn {
  question: string;
  answer: string;
  excerpts: Excerpt[];
}

/** The thread on screen: still there when the person comes back to Ask. */
let lastThread: { earlier: Turn[]; current: Turn | null } = { earlier: [], current: null };

/** The excerpt numbers an answer cites as [n] or [n, m]. */
export function citedNumbers(answer: string): Set<number> {
  const out = new Set<number>();
  for (const m of answer.matchAll(new RegExp(CITATION.source, "g"))) {
    for (const n of m[1].split(",")) out.add(Number(n.trim()));
  }
  return out;
}

/**
 * "Ask your history": the answer comes with its citations as chips that open the message they
 * cite; the excerpts it was given are listed under it, the cited ones marked.
 */
export function AskView({ onOpen }: { onOpen: (conversationId: string, messageId: string) => void }) {
  const [question, setQuestion] = useState("");
  // The thread: earlier questions with their answers, then the one on screen (`asked`).
  const [earlier, setEarlier] = useState<Turn[]>(lastThread.earlier);
  const [asked, setAsked] = useState<string | null>(lastThread.current?.question ?? null);
  const [answer, setAnswer] = useState(lastThread.current?.answer ?? "");
  const [excerpts, setExcerpts] = useState<Excerpt[]>(lastThread.current?.excerpts ?? []);
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Shown | null>(null);
  // The questions asked before (kept in the history), and which one is shown.
  const [past, setPast] = useState<AskedQuestion[]>([]);
  const [shownId, setShownId] = useState<number | null>(null);
  const loadPast = () => api.listAsked().then(setPast, (e) => setError(shownError(e)));
  useEffect(() => {
    void loadPast();
  }, []);
  const showPast = (q: AskedQuestion) => {
    setEarlier([]);
    setAsked(q.question);
    setAnswer(q.answer);
    setExcerpts(q.excerpts);
    setError(null);
    setShownId(q.id);
    lastThread = { earlier: [], current: { question: q.question, answer: q.answer, excerpts: q.excerpts } };
  };
  // "New question": the next question starts a thread of its own.
  const newThread = () => {
    setEarlier([]);
    setAsked(null);
    setAnswer("");
    setExcerpts([]);
    setError(null);
    setShownId(null);
    lastThread = { earlier: [], current: null };
    input.current?.focus();
  };
  const forget = (q: AskedQuestion) =>
    api.deleteAsked(q.id).then(
      () => {
        setPast((ps) => ps.filter((p) => p.id !== q.id));
        if (shownId === q.id) setShownId(null);
      },
      (e) => setError(shownError(e)),
    );

  // A question asked while a thread is on screen follows up on its last question (searched
  // together with it); "New question" starts afresh. The question moves from the box to the
  // thread at once, as a chat message does; if it fails it goes back into the box, and asked
  // again it still follows the thread's last question.
  const ask = () => {
    const q = question.trim();
    if (!q || busy) return;
    const before: Turn | null = asked !== null && answer ? { question: asked, answer, excerpts } : null;
    const thread = before ? [...earlier, before] : earlier;
    setBusy(true);
    setEarlier(thread);
    setAsked(q);
    setAnswer("");
    setExcerpts([]);
    setError(null);
    setQuestion("");
    api
      .askHistory(q, thread[thread.length - 1]?.question ?? null, (piece) => setAnswer((a) => a + piece))
      .then(
        (r) => {
          setAnswer(r.answer);
          setExcerpts(r.excerpts);
          lastThread = { earlier: thread, current: { question: q, answer: r.answer, excerpts: r.excerpts } };
          void loadPast().then(() => setShownId(null));
        },
        (e) => {
          setError(shownError(e));
          setQuestion((typed) => typed || q);
        },
      )
      .finally(() => setBusy(false));
  };

  const stop = () => void api.stopAsk().catch((e) => setError(shownError(e)));
  useEffect(() => {
    if (!busy) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && !e.shiftKey && stop();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [busy]);

  const cited = citedNumbers(answer);
  const cite = (n: number) => {
    const e = excerpts[n - 1];
    if (!e) return null;
    return (
      <button
        type="button"
        className="cite-chip"
        data-testid="ask-cite"
        title={`${e.title} · ${formatDate(e.timestamp)}`}
        aria-label={`Source ${n}: ${e.title}`}
        onClick={() => onOpen(e.conversation_id, e.message_id)}
      >
        {n}
      </button>
    );
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
          ref={input}
          data-testid="ask-input"
          value={question}
          placeholder={asked !== null ? "Ask a follow-up…" : "What did I discuss about travel?"}
          onChange={(e) => setQuestion(e.target.value)}
          aria-label="Question"
        />
        {busy ? (
          <button type="button" className="secondary" data-testid="ask-stop" onClick={stop}>
            Stop
          </button>
        ) : (
          <button type="submit" disabled={!question.trim()} data-testid="ask-submit">
            Ask
          </button>
        )}
        {asked !== null && !busy && (
          <button type="button" className="secondary" data-testid="ask-new-thread" onClick={newThread}>
            New question
          </button>
        )}
      </form>
      {earlier.length > 0 && (
        <ol className="ask-thread" aria-label="Earlier in this thread" data-testid="ask-thread">
          {earlier.map((t, i) => (
            <li key={i}>
              <strong>{t.question}</strong>
              <span className="muted">{plainText(t.answer).replace(/\s*\[\d+(?:,\s*\d+)*\]/g, "")}</span>
            </li>
          ))}
        </ol>
      )}
      {asked !== null && (
        <p className="ask-question" data-testid="ask-question">
          {asked}
        </p>
      )}
      {busy && !answer && (
        <p className="muted" role="status" data-testid="ask-thinking">
          Reading your history… <span className="small">(Esc stops)</span>
        </p>
      )}
      {error && <ErrorLine error={error} onRetry={busy ? undefined : ask} />}
      {answer && (
        <div className="answer" data-testid="ask-answer">
          <Markdown text={answer} cite={busy ? undefined : cite} />
        </div>
      )}
      {excerpts.length > 0 && (
        <ol className="excerpts" data-testid="ask-excerpts">
          {excerpts.map((e, i) => (
            <li key={e.message_id}>
              <button
                className={cited.has(i + 1) ? "search-hit cited" : "search-hit"}
                data-testid="ask-excerpt"
                data-conversation-id={e.conversation_id}
                onClick={() => onOpen(e.conversation_id, e.message_id)}
              >
                <span className="conversation-meta">
                  <strong>[{i + 1}]</strong>
                  {cited.has(i + 1) && <span className="cited-mark">cited</span>}
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
      {past.length > 0 && (
        <section className="ask-past" aria-label="Questions asked before" data-testid="ask-past">
          <h2>Asked before</h2>
          <ul>
            {past.map((q) => (
              <li key={q.id} className={q.id === shownId ? "shown" : undefined}>
                <button className="link" data-testid="ask-past-question" onClick={() => showPast(q)}>
                  {q.question}
                </button>
                <time className="muted small" dateTime={q.asked_at}>
                  {formatDateTime(q.asked_at)}
                </time>
                <button
                  className="link small remove"
                  aria-label={`Remove “${q.question}”`}
                  title="Remove from this list"
                  data-testid="ask-past-remove"
                  onClick={() => void forget(q)}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
