import { useEffect, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Conversation } from "./api";
import { formatDate } from "./format";

export interface ConversationListProps {
  conversations: Conversation[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
}

/**
 * The sidebar's conversations, virtualised: only the rows in view (plus a few) are in the DOM,
 * so 10,000 conversations scroll as smoothly as 10. Rows are measured (titles wrap), and the
 * next page loads when the end comes into view.
 */
export function ConversationList({
  conversations,
  selectedId,
  onSelect,
  hasMore,
  loading,
  onLoadMore,
}: ConversationListProps) {
  const parent = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: conversations.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 56,
    overscan: 8,
    getItemKey: (i) => conversations[i].id,
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1].index : -1;
  useEffect(() => {
    if (hasMore && !loading && last >= conversations.length - 10) onLoadMore();
  }, [last, hasMore, loading, conversations.length, onLoadMore]);

  return (
    <div className="conversation-list" ref={parent} data-testid="conversation-list" data-count={conversations.length}>
      <ul style={{ height: virtualizer.getTotalSize(), position: "relative", margin: 0, padding: 0, listStyle: "none" }}>
        {items.map((row) => {
          const c = conversations[row.index];
          return (
            <li
              key={row.key}
              data-index={row.index}
              ref={virtualizer.measureElement}
              style={{ position: "absolute", top: 0, left: 0, width: "100%", transform: `translateY(${row.start}px)` }}
            >
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
          );
        })}
      </ul>
    </div>
  );
}
