import { useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Conversation } from "./api";
import { dateGroup, formatDate } from "./format";

export interface ConversationListProps {
  conversations: Conversation[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
}

/** A row of the list: a date heading, or a conversation. */
type Row = { kind: "group"; label: string } | { kind: "conversation"; c: Conversation };

/** Conversations (newest first) with a heading wherever the date group changes. */
export function withDateGroups(conversations: Conversation[], now: Date = new Date()): Row[] {
  const rows: Row[] = [];
  let current = "";
  for (const c of conversations) {
    const label = dateGroup(c.start_time, now);
    if (label !== current) {
      rows.push({ kind: "group", label });
      current = label;
    }
    rows.push({ kind: "conversation", c });
  }
  return rows;
}

/**
 * The sidebar's conversations under date headings (Today, Yesterday, …, months), virtualised: only the rows in view (plus a few) are in the DOM,
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
  const rows = useMemo(() => withDateGroups(conversations), [conversations]);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: (i) => (rows[i].kind === "group" ? 30 : 56),
    overscan: 8,
    getItemKey: (i) => {
      const r = rows[i];
      return r.kind === "group" ? `group:${r.label}` : r.c.id;
    },
  });
  // Roving tabindex: the list is one Tab stop (the row last focused, else the open one, else
  // the first); arrow keys, Home and End move between rows, scrolling rows into the DOM.
  const [focusId, setFocusId] = useState<string | null>(null);
  const pendingFocus = useRef<string | null>(null);
  const has = (id: string | null) => id !== null && conversations.some((c) => c.id === id);
  const tabId = has(focusId) ? focusId : has(selectedId) ? selectedId : (conversations[0]?.id ?? null);
  const moveFocus = (fromId: string, key: string): boolean => {
    const at = rows.findIndex((r) => r.kind === "conversation" && r.c.id === fromId);
    const order = rows.map((r, i) => (r.kind === "conversation" ? i : -1)).filter((i) => i >= 0);
    const pos = order.indexOf(at);
    const target =
      key === "ArrowDown" ? order[pos + 1] : key === "ArrowUp" ? order[pos - 1] : key === "Home" ? order[0] : key === "End" ? order[order.length - 1] : undefined;
    if (target === undefined) return key === "ArrowDown" || key === "ArrowUp" || key === "Home" || key === "End";
    const r = rows[target];
    if (r.kind !== "conversation") return true;
    setFocusId(r.c.id);
    pendingFocus.current = r.c.id;
    virtualizer.scrollToIndex(target, { align: "auto" });
    return true;
  };
  // After a move, focus the row once it is rendered.
  useEffect(() => {
    const id = pendingFocus.current;
    if (!id) return;
    const el = parent.current?.querySelector<HTMLButtonElement>(`[data-id="${CSS.escape(id)}"]`);
    if (el) {
      pendingFocus.current = null;
      el.focus();
    }
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1].index : -1;
  useEffect(() => {
    if (hasMore && !loading && last >= rows.length - 10) onLoadMore();
  }, [last, hasMore, loading, rows.length, onLoadMore]);

  return (
    <div className="conversation-list" ref={parent} data-testid="conversation-list" data-count={conversations.length}>
      <ul style={{ height: virtualizer.getTotalSize(), position: "relative", margin: 0, padding: 0, listStyle: "none" }}>
        {items.map((row) => {
          const r = rows[row.index];
          const style = { position: "absolute", top: 0, left: 0, width: "100%", transform: `translateY(${row.start}px)` } as const;
          if (r.kind === "group") {
            return (
              <li key={row.key} data-index={row.index} ref={virtualizer.measureElement} style={style}>
                <h2 className="date-group" data-testid="date-group">
                  {r.label}
                </h2>
              </li>
            );
          }
          const c = r.c;
          return (
            <li key={row.key} data-index={row.index} ref={virtualizer.measureElement} style={style}>
              <button
                className={c.id === selectedId ? "conversation-item selected" : "conversation-item"}
                onClick={() => onSelect(c.id)}
                tabIndex={c.id === tabId ? 0 : -1}
                onFocus={() => setFocusId(c.id)}
                onKeyDown={(e) => {
                  if (moveFocus(c.id, e.key)) e.preventDefault();
                }}
                data-testid="conversation-item"
                data-id={c.id}
              >
                <span className="conversation-title" data-testid="conversation-title">
                  {c.title}
                </span>
                <span className="conversation-meta">
                  {/* Only the unusual state is said: most conversations are ended. */}
                  {c.status === "active" && <span className="badge active">active</span>}
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
