import type { Conversation } from "./api";
import { formatDate } from "./format";
import { EmbeddingStatus } from "./EmbeddingStatus";

interface Props {
  conversations: Conversation[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
}

export function Sidebar({ conversations, selectedId, onSelect, hasMore, loading, onLoadMore }: Props) {
  return (
    <nav className="sidebar" aria-label="Conversations">
      <header className="sidebar-header">
        <span className="brand">Hindsight</span>
      </header>
      <ul className="conversation-list" data-testid="conversation-list">
        {conversations.map((c) => (
          <li key={c.id}>
            <button
              className={c.id === selectedId ? "conversation-item selected" : "conversation-item"}
              onClick={() => onSelect(c.id)}
              data-testid="conversation-item"
              data-id={c.id}
            >
              <span className="conversation-title" data-testid="conversation-title">
                {c.title}
              </span>
              <span className="conversation-meta">
                <span className={`badge ${c.status}`}>{c.status}</span>
                <span>{formatDate(c.start_time)}</span>
                <span>{c.message_count} msgs</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
      {loading && <p className="muted pad">Loading…</p>}
      {hasMore && !loading && (
        <button className="load-more" onClick={onLoadMore}>
          Load more
        </button>
      )}
      <EmbeddingStatus />
    </nav>
  );
}
