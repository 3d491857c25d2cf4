import { useCallback, useEffect, useState } from "react";
import { api, type AnalysisView, type Conversation } from "./api";
import { ErrorLine, shownError, type Shown } from "./ErrorLine";

const SENTIMENT_ICON: Record<string, string> = {
  positive: "🙂",
  neutral: "😐",
  negative: "🙁",
  mixed: "🤔",
};

/** The analysis of one conversation: status while it runs, then summary, topics, sentiment,
 *  key points and action items (ticking one persists at once). Text is rendered by React
 *  (escaped), never as HTML. */
/**
 * The insights panel: beside the conversation on a wide window; below 1100 px a drawer over
 * it, opened from the conversation's header (`open`) and closed with its × or Escape.
 */
export function InsightsPanel({
  conversation,
  open = false,
  onClose,
}: {
  conversation: Conversation;
  open?: boolean;
  onClose?: () => void;
}) {
  const [view, setView] = useState<AnalysisView | null>(null);
  const [error, setError] = useState<Shown | null>(null);
  const id = conversation.id;

  const load = useCallback(() => {
    api.getAnalysis(id).then(
      (v) => {
        setView(v);
        setError(null);
      },
      (e) => setError(shownError(e)),
    );
  }, [id]);

  useEffect(() => {
    load();
    const off = api.onAnalysisStatus((s) => {
      if (s.conversation_id === id) load();
    });
    return () => {
      void off.then((f) => f());
    };
  }, [id, load, conversation.status]);

  const reanalyze = () => {
    api.reanalyze(id).then(load, (e) => setError(shownError(e)));
  };

  const toggle = (itemId: number, done: boolean) => {
    setView((v) =>
      v && v.analysis
        ? {
            ...v,
            analysis: {
              ...v.analysis,
              action_items: v.analysis.action_items.map((i) => (i.id === itemId ? { ...i, done } : i)),
            },
          }
        : v,
    );
    api.setActionItemDone(itemId, done).catch((e) => {
      setError(shownError(e));
      load();
    });
  };

  // The panel keeps its place while it loads: no layout shift under the user's pointer.
  if (!view)
    return (
      <aside className={`insights${open ? " open" : ""}`} data-testid="insights-loading">
        <h2>Insights</h2>
        {error ? <ErrorLine error={error} onRetry={load} /> : <p className="muted">Loading…</p>}
      </aside>
    );
  const { status, analysis } = view;
  const busy = status.state === "pending" || status.state === "running";
  return (
    <aside className={`insights${open ? " open" : ""}`} data-testid="insights" aria-live="polite">
      <button className="link drawer-close" aria-label="Close insights" data-testid="insights-close" onClick={onClose}>
        ×
      </button>
      <div className="insights-head">
        <h2>Insights</h2>
        {conversation.status === "ended" && !busy && (
          <button className="link" onClick={reanalyze} data-testid="reanalyze">
            {analysis ? "Re-analyse" : "Analyse"}
          </button>
        )}
      </div>
      {error && <ErrorLine error={error} onRetry={load} />}
      {busy && (
        <p className="muted" data-testid="analysis-busy">
          <span className="spinner" aria-hidden="true" /> Analysing…
        </p>
      )}
      {status.state === "failed" && (
        <p className="error-text" data-testid="analysis-failed">
          Analysis failed: {status.error}
        </p>
      )}
      {!analysis && conversation.summary && <p className="summary">{conversation.summary}</p>}
      {status.state === "none" && !analysis && (
        <p className="muted">
          {conversation.status === "active"
            ? "End the conversation to get its summary, topics, sentiment and action items."
            : "Not analysed yet."}
        </p>
      )}
      {analysis && (
        <div data-testid="analysis">
          {analysis.doubts.length > 0 && (
            <div className="doubt" role="note" data-testid="analysis-doubts">
              <strong>Take this analysis with care.</strong> It is left out of the Insights charts
              because {analysis.doubts.join("; ")}.
              {status.state !== "pending" && status.state !== "running" && (
                <>
                  {" "}
                  <button className="link small" onClick={reanalyze}>
                    Analyse again
                  </button>
                </>
              )}
            </div>
          )}
          {analysis.summary && (
            <p className="summary" data-testid="analysis-summary">
              {analysis.summary}
            </p>
          )}
          {analysis.sentiment && (
            <p data-testid="analysis-sentiment">
              {SENTIMENT_ICON[analysis.sentiment]} <strong>{analysis.sentiment}</strong>
              {analysis.sentiment_score !== null && (
                <span className="muted"> ({analysis.sentiment_score.toFixed(2)})</span>
              )}
            </p>
          )}
          {analysis.topics.length > 0 && (
            <ul className="chips" data-testid="analysis-topics">
              {analysis.topics.map((t) => (
                <li key={t} className="chip">
                  {t}
                </li>
              ))}
            </ul>
          )}
          {analysis.key_points.length > 0 && (
            <>
              <h3>Key points</h3>
              <ul className="key-points">
                {analysis.key_points.map((p, i) => (
                  <li key={i}>{p}</li>
                ))}
              </ul>
            </>
          )}
          {analysis.action_items.length > 0 && (
            <>
              <h3>Action items</h3>
              <ul className="action-items" data-testid="action-items">
                {analysis.action_items.map((item) => (
                  <li key={item.id}>
                    <label>
                      <input
                        type="checkbox"
                        checked={item.done}
                        data-testid="action-item"
                        onChange={(e) => toggle(item.id, e.target.checked)}
                      />{" "}
                      <span className={item.done ? "done" : undefined}>{item.text}</span>
                      {item.owner !== "unknown" && (
                        <span className="muted"> · {item.owner === "user" ? "you" : "assistant"}</span>
                      )}
                    </label>
                  </li>
                ))}
              </ul>
            </>
          )}
          <p className="muted small">Analysed by {analysis.model}</p>
        </div>
      )}
    </aside>
  );
}
