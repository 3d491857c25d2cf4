import { useCallback, useEffect, useState } from "react";
import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { Bar, Line } from "react-chartjs-2";
import { api, errorMessage, type ActionItemEntry, type Insights } from "./api";
import { formatDate } from "./format";
import { AnalyseAll } from "./AnalyseAll";

ChartJS.register(CategoryScale, LinearScale, BarElement, LineElement, PointElement, Tooltip, Legend);

const COLOURS = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#dc2626", "#9333ea"];

/**
 * Across all conversations: counts, sentiment and topics month by month (Chart.js, drawn on a
 * canvas), and the open action items, which can be ticked off here. When several models wrote
 * analyses, each can be left out of the charts (a weak model's analyses are not fact).
 */
export function InsightsView({ onOpen }: { onOpen: (conversationId: string) => void }) {
  const [insights, setInsights] = useState<Insights | null>(null);
  const [items, setItems] = useState<ActionItemEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [excluded, setExcluded] = useState<string[]>([]);
  // Analyses in doubt are not charted unless the person asks for them.
  const [withDoubtful, setWithDoubtful] = useState(false);
  // Bumped when a background analysis finishes: the charts and items reload.
  const [analysed, setAnalysed] = useState(0);
  const onAnalysed = useCallback(() => setAnalysed((n) => n + 1), []);
  useEffect(() => {
    api.getInsights(excluded, withDoubtful).then(setInsights, (e) => setError(errorMessage(e)));
  }, [excluded, withDoubtful, analysed]);
  useEffect(() => {
    api.listActionItems(true).then(setItems, (e) => setError(errorMessage(e)));
  }, [analysed]);
  const toggleModel = (model: string) =>
    setExcluded((xs) => (xs.includes(model) ? xs.filter((x) => x !== model) : [...xs, model]));
  const tick = (item: ActionItemEntry) =>
    api.setActionItemDone(item.id, !item.done).then(
      (stored) => setItems((xs) => xs.map((x) => (x.id === stored.id ? { ...x, done: stored.done } : x))),
      (e) => setError(errorMessage(e)),
    );

  if (error) return <section className="conversation"><p className="error-text">{error}</p></section>;
  if (!insights) return <section className="conversation"><p className="muted">Loading…</p></section>;
  const { counts, months, sentiment, topics, models } = insights;
  // The built-in models label moods little better than chance (BENCHMARKS.md, "Sentiment"):
  // the chart says so while any of their analyses is charted.
  const rough = models.some((m) => m.builtin && !excluded.includes(m.model));
  return (
    <section className="conversation insights-view" data-testid="insights-view">
      <h1>Insights</h1>
      <AnalyseAll onChange={onAnalysed} />
      {models.length > 1 && (
        <fieldset className="model-filter" data-testid="insights-models">
          <legend>Analyses written by</legend>
          {models.map((m) => (
            <label key={m.model} className="radio">
              <input
                type="checkbox"
                checked={!excluded.includes(m.model)}
                onChange={() => toggleModel(m.model)}
                data-testid={`insights-model-${m.model}`}
              />
              {m.model} ({m.analyses})
            </label>
          ))}
        </fieldset>
      )}
      {counts.in_doubt > 0 && (
        <label className="radio doubt-filter" data-testid="insights-doubtful">
          <input type="checkbox" checked={withDoubtful} onChange={(e) => setWithDoubtful(e.target.checked)} />
          Include {counts.in_doubt} {counts.in_doubt === 1 ? "analysis" : "analyses"} in doubt (their checks found
          words the conversation does not have, or a weak model wrote them)
        </label>
      )}
      <div className="tiles">
        <Tile label="conversations" value={counts.conversations} />
        <Tile label="messages" value={counts.messages} />
        <Tile label="analysed" value={counts.analysed} />
        <Tile label="open action items" value={counts.open_action_items} />
      </div>
      {months.length === 0 ? (
        <p className="muted">End a conversation to have it analysed: its sentiment and topics show up here.</p>
      ) : (
        <>
          <h2>Sentiment by month</h2>
          <div className="chart" data-testid="sentiment-chart">
            <Line
              aria-label="Average sentiment by month, from -1 (negative) to 1 (positive)"
              data={{
                labels: months,
                datasets: [
                  {
                    label: "average sentiment",
                    data: sentiment.map((p) => p.average),
                    borderColor: COLOURS[0],
                    backgroundColor: COLOURS[0],
                    tension: 0.3,
                  },
                ],
              }}
              options={{
                maintainAspectRatio: false,
                animation: false,
                scales: { y: { min: -1, max: 1 } },
                plugins: { legend: { display: false } },
              }}
            />
          </div>
          {rough && (
            <p className="muted chart-note" data-testid="sentiment-rough">
              Moods here were labelled by a built-in model, which reads them roughly: in our tests the Small model
              agreed with a careful reader on about 3 conversations in 10. Take this line as a rough guide.
            </p>
          )}
          <h2>Topics by month</h2>
          <div className="chart" data-testid="topics-chart">
            <Bar
              aria-label="Conversations per topic, month by month"
              data={{
                labels: months,
                datasets: topics.map((t, i) => ({
                  label: t.topic,
                  data: t.by_month,
                  backgroundColor: COLOURS[i % COLOURS.length],
                })),
              }}
              options={{
                maintainAspectRatio: false,
                animation: false,
                scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } },
              }}
            />
          </div>
          <ul className="topic-legend" data-testid="top-topics">
            {topics.map((t) => (
              <li key={t.topic}>
                {t.topic} <span className="muted">{t.total}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Open action items</h2>
      {items.length === 0 ? (
        <p className="muted">Nothing open.</p>
      ) : (
        <ul className="action-list" data-testid="open-action-items">
          {items.map((item) => (
            <li key={item.id}>
              <label>
                <input type="checkbox" checked={item.done} onChange={() => void tick(item)} />
                <span className={item.done ? "done" : ""}>{item.text}</span>
              </label>
              <button className="link small" onClick={() => onOpen(item.conversation_id)}>
                {item.conversation_title} · {formatDate(item.conversation_time)}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Tile({ label, value }: { label: string; value: number }) {
  return (
    <div className="tile" data-testid="tile">
      <strong>{value.toLocaleString()}</strong>
      <span className="muted">{label}</span>
    </div>
  );
}
