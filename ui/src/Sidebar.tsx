import { useEffect, useState } from "react";
import { api, errorMessage, type SearchResults as Found } from "./api";
import { EmbeddingStatus } from "./EmbeddingStatus";
import { SyncBadge } from "./SyncPanel";
import { SearchResults } from "./SearchResults";
import { LlmBadge } from "./LlmBadge";
import { ConversationList, type ConversationListProps } from "./ConversationList";

interface Props extends ConversationListProps {
  onHide: () => void;
  onOpenHit: (conversationId: string, messageId: string) => void;
  onAsk: () => void;
  onNewChat: () => void;
  onBookmarks: () => void;
  onInsights: () => void;
  onSettings: () => void;
  settingsVersion: number;
}

/** Below this cosine a message is unrelated (all-MiniLM-L6-v2), unless it has the words. */
const MIN_SIMILARITY = 0.25;

/** Searches the history as the user types (hybrid, debounced). */
function useSearch(query: string) {
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setFound(null);
      setError(null);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      // No cap per conversation: a conversation with several hits shows them as one group.
      api.searchHistory(q, { limit: 30, per_conversation: 0, min_similarity: MIN_SIMILARITY }).then(
        (f) => {
          if (cancelled) return;
          setFound(f);
          setError(null);
        },
        (e) => !cancelled && setError(errorMessage(e)),
      );
    }, 250);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [query]);
  return { found, error };
}

export function Sidebar({
  conversations,
  selectedId,
  onSelect,
  hasMore,
  loading,
  onLoadMore,
  onOpenHit,
  onAsk,
  onNewChat,
  onBookmarks,
  onInsights,
  onSettings,
  settingsVersion,
  onHide,
}: Props) {
  const [query, setQuery] = useState("");
  const search = useSearch(query);
  const searching = query.trim() !== "";
  return (
    <nav className="sidebar" aria-label="Conversations">
      <header className="sidebar-header">
        <div className="sidebar-title-row">
          <span className="brand">Hindsight</span>
          <span className="sidebar-title-actions">
            <button onClick={onNewChat} data-testid="new-chat">
              New chat
            </button>
            <button
              className="secondary hide-sidebar"
              data-testid="hide-sidebar"
              title="Hide the sidebar (Ctrl+B)"
              aria-label="Hide sidebar"
              onClick={onHide}
            >
              «
            </button>
          </span>
        </div>
        <div className="sidebar-links">
          <button className="link" onClick={onAsk} data-testid="open-ask">
            Ask your history
          </button>
          <button className="link" onClick={onBookmarks} data-testid="open-bookmarks">
            Bookmarks
          </button>
          <button className="link" onClick={onInsights} data-testid="open-insights">
            Insights
          </button>
          <button className="link" onClick={onSettings} data-testid="open-settings">
            Settings
          </button>
        </div>
        <input
          type="search"
          className="search-box"
          placeholder="Search your history…"
          aria-label="Search your history"
          data-testid="search-box"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            // Down arrow: into the results (then up and down between them, Enter opens).
            if (e.key === "ArrowDown") {
              const first = document.querySelector<HTMLElement>("[data-testid=search-hit]");
              if (first) {
                e.preventDefault();
                first.focus();
              }
            }
            if (e.key === "Escape") setQuery("");
          }}
        />
      </header>
      {searching ? (
        <div className="conversation-list">
          {search.error && <p className="error-text pad">{search.error}</p>}
          {search.found === null && !search.error && <p className="muted pad">Searching…</p>}
          {search.found?.words_only && (
            <p className="muted small pad" data-testid="search-words-only">
              Matching words only: the search model is not installed yet (Settings → Models).
            </p>
          )}
          {search.found !== null && search.found.hits.length === 0 && <p className="muted pad">No matches.</p>}
          {search.found && search.found.hits.length > 0 && (
            <SearchResults
              hits={search.found.hits}
              timeRange={search.found.time_range}
              query={query}
              onOpen={onOpenHit}
            />
          )}
        </div>
      ) : (
        <ConversationList
          conversations={conversations}
          selectedId={selectedId}
          onSelect={onSelect}
          hasMore={hasMore}
          loading={loading}
          onLoadMore={onLoadMore}
        />
      )}
      {loading && conversations.length === 0 && <p className="muted pad">Loading…</p>}
      <LlmBadge onOpenSettings={onSettings} version={settingsVersion} />
      <SyncBadge onOpenSettings={onSettings} />
      <EmbeddingStatus />
    </nav>
  );
}
