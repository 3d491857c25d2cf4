import { useEffect, useState } from "react";
import { api, type Bookmark } from "./api";
import { ErrorLine, shownError, type Shown } from "./ErrorLine";
import { formatDateTime } from "./format";
import { plainText } from "./plainText";

/** Every bookmarked message, newest first; a click opens it in its conversation, Remove unmarks it. */
export function BookmarksView({ onOpen }: { onOpen: (conversationId: string, messageId: string) => void }) {
  const [items, setItems] = useState<Bookmark[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<Shown | null>(null);
  // What Retry does: the last thing that failed.
  const [retry, setRetry] = useState<(() => void) | null>(null);
  const fail = (again: () => void) => (e: unknown) => {
    setError(shownError(e));
    setRetry(() => again);
  };
  const load = (from: string | null): Promise<void> => {
    setError(null);
    return api.listBookmarks(from).then(
      (page) => {
        setItems((prev) => (from && prev ? [...prev, ...page.items] : page.items));
        setCursor(page.next_cursor);
      },
      fail(() => void load(from)),
    );
  };
  const remove = (id: string) => {
    setError(null);
    api.setBookmark(id, false).then(
      () => setItems((prev) => prev?.filter((x) => x.id !== id) ?? null),
      fail(() => remove(id)),
    );
  };
  useEffect(() => {
    void load(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the first page, once, on opening
  }, []);
  return (
    <section className="conversation" data-testid="bookmarks-view">
      <h1>Bookmarks</h1>
      {error && <ErrorLine error={error} onRetry={retry ?? undefined} />}
      {items === null && !error && <p className="muted">Loading…</p>}
      {items?.length === 0 && <p className="muted">No bookmarks yet. Bookmark a message with 🔖 to keep it here.</p>}
      <ul className="bookmarks">
        {items?.map((m) => (
          <li key={m.id} className="bookmark-row">
            <button className="bookmark-item" data-testid="bookmark-item" onClick={() => onOpen(m.conversation_id, m.id)}>
              <span className="bookmark-title" data-testid="bookmark-title">
                {m.conversation_title}
              </span>
              <span className="muted">
                {m.sender === "user" ? "You" : "Assistant"} · {formatDateTime(m.timestamp)}
              </span>
              <span className="bookmark-text">{plainText(m.content.length > 600 ? m.content.slice(0, 600) + "…" : m.content)}</span>
            </button>
            <button
              className="link small"
              data-testid="bookmark-remove"
              aria-label="Remove bookmark"
              onClick={() => remove(m.id)}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      {cursor && (
        <button className="load-more" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
