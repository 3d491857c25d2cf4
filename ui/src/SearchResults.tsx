import type { SearchHit } from "./api";
import { formatDate } from "./format";
import { Highlight, excerpt } from "./Highlight";

/** Search hits grouped by conversation (in order of each conversation's best hit). */
export function SearchResults({
  hits,
  query,
  onOpen,
}: {
  hits: SearchHit[];
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
    <ul className="search-results" data-testid="search-results">
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
                {h.similarity !== null && <span title="cosine similarity">{h.similarity.toFixed(2)}</span>}
              </span>
              <span className="search-snippet">
                <Highlight text={excerpt(h.content, query)} query={query} />
              </span>
            </button>
          ))}
        </li>
      ))}
    </ul>
  );
}
