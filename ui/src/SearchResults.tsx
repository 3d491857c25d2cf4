import type { KeyboardEvent } from "react";
import type { SearchHit, TimeRange } from "./api";
import { formatDate } from "./format";
import { Highlight, excerpt } from "./Highlight";
import { plainText } from "./plainText";
import { SimilarityBar } from "./SimilarityBar";

/** Arrow keys move between hits (Enter opens one, as a button does). */
function moveFocus(e: KeyboardEvent<HTMLElement>) {
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
  const hits = Array.from(e.currentTarget.querySelectorAll<HTMLElement>("[data-testid=search-hit]"));
  const i = hits.indexOf(document.activeElement as HTMLElement);
  if (i < 0) return;
  e.preventDefault();
  const next = e.key === "ArrowDown" ? Math.min(i + 1, hits.length - 1) : i - 1;
  if (next < 0) document.querySelector<HTMLElement>("[data-testid=search-box]")?.focus();
  else hits[next].focus();
}

/** A reply this short is shown under the turn it answers. */
const SHORT_REPLY = 160;

/** "Jun 1 – Aug 31, 2025": the range search read in the text (`to` is exclusive). */
function rangeText(r: TimeRange): string {
  const day = (iso: string) =>
    new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  return `${day(r.from)} – ${day(new Date(new Date(r.to).getTime() - 1).toISOString())}`;
}

/** Search hits grouped by conversation (in order of each conversation's best hit). */
export function SearchResults({
  hits,
  timeRange,
  query,
  onOpen,
}: {
  hits: SearchHit[];
  timeRange?: TimeRange | null;
  query: string;
  onOpen: (conversationId: string, messageId: string) => void;
}) {
  const groups: { id: string; title: string; hits: SearchHit[] }[] = [];
  for (const h of hits) {
    let g = groups.find((g) => g.id === h.conversation_id);
    if (!g) {
      g = { id: h.conversation_id, title: h.conversation_title, hits: [] };
      groups.push(g);
    }
    g.hits.push(h);
  }
  return (
    <>
    {timeRange && (
      <p className="muted pad search-time" data-testid="search-time-range">
        “{timeRange.phrase}” → {rangeText(timeRange)}, shown first
      </p>
    )}
    <ul className="search-results" data-testid="search-results" onKeyDown={moveFocus}>
      {groups.map((g) => (
        <li key={g.id} className="search-group">
          <div className="search-group-title">{g.title}</div>
          {g.hits.map((h) => (
            <button
              key={h.message_id}
              className="search-hit"
              data-testid="search-hit"
              data-conversation-id={h.conversation_id}
              onClick={() => onOpen(h.conversation_id, h.message_id)}
            >
              <span className="conversation-meta">
                <span>{h.sender === "user" ? "You" : "Assistant"}</span>
                <span>{formatDate(h.timestamp)}</span>
                {h.similarity !== null && <SimilarityBar value={h.similarity} />}
              </span>
              {h.previous && h.content.length <= SHORT_REPLY && (
                <span className="search-context" data-testid="search-hit-context">
                  {h.previous.sender === "user" ? "You" : "Assistant"}:{" "}
                  <Highlight text={excerpt(plainText(h.previous.content), query)} query={query} />
                </span>
              )}
              <span className="search-snippet">
                <Highlight text={excerpt(plainText(h.content), query)} query={query} />
              </span>
            </button>
          ))}
        </li>
      ))}
    </ul>
    </>
  );
}
