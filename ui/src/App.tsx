import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorDetail, errorMessage, type AppInfo, type Conversation, type ConversationDetail } from "./api";
import { Sidebar } from "./Sidebar";
import { ConversationView } from "./ConversationView";
import { AskView } from "./AskView";
import { BookmarksView } from "./BookmarksView";
import { InsightsView } from "./InsightsView";
import { SettingsView } from "./SettingsView";
import { DamagedBanner } from "./DamagedBanner";

export function App() {
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  // The error shown in the banner: plain words, with the technical detail behind a toggle.
  const [error, setErrorState] = useState<{ message: string; detail: string | null } | null>(null);
  const setError = (message: string | null) => setErrorState(message === null ? null : { message, detail: null });
  const showError = (e: unknown) => setErrorState({ message: errorMessage(e), detail: errorDetail(e) });
  const [selected, setSelected] = useState<string | null>(null);
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [view, setView] = useState<"conversation" | "ask" | "bookmarks" | "insights" | "settings">("conversation");
  const asking = view === "ask";
  const setAsking = (on: boolean) => setView(on ? "ask" : "conversation");
  const [focus, setFocus] = useState<string | null>(null);
  const openMessage = (conversationId: string, messageId: string) => {
    setAsking(false);
    setFocus(messageId);
    setSelected(conversationId);
  };

  // The page being fetched: the list asks for the next page as it scrolls, maybe twice.
  const inflight = useRef<string | null | undefined>(undefined);
  const loadPage = useCallback(async (from: string | null) => {
    if (inflight.current === from) return;
    inflight.current = from;
    setLoading(true);
    try {
      const page = await api.listConversations(from);
      setConversations((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setError(null);
    } catch (e) {
      showError(e);
    } finally {
      inflight.current = undefined;
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void loadPage(null);
    api.appInfo().then(setInfo, (e) => showError(e));
  }, [loadPage]);

  const [version, setVersion] = useState(0);
  const [settingsVersion, setSettingsVersion] = useState(0);
  useEffect(() => {
    if (!selected) {
      setDetail(null);
      return;
    }
    let cancelled = false;
    api.getConversation(selected).then(
      (d) => {
        if (cancelled) return;
        setDetail(d);
        // Keep the sidebar's badge in step with the conversation's status.
        setConversations((prev) => prev.map((c) => (c.id === d.conversation.id ? d.conversation : c)));
      },
      (e) => !cancelled && showError(e),
    );
    return () => {
      cancelled = true;
    };
  }, [selected, version]);

  return (
    <div className="app">
      <Sidebar
        conversations={conversations}
        selectedId={selected}
        onSelect={(id) => {
          setAsking(false);
          setFocus(null);
          setSelected(id);
        }}
        onOpenHit={openMessage}
        onAsk={() => setAsking(true)}
        onBookmarks={() => setView("bookmarks")}
        onInsights={() => setView("insights")}
        onSettings={() => setView("settings")}
        settingsVersion={settingsVersion}
        onNewChat={() =>
          api.createConversation().then(
            (c) => {
              setConversations((prev) => [c, ...prev]);
              setAsking(false);
              setFocus(null);
              setSelected(c.id);
            },
            (e) => showError(e),
          )
        }
        hasMore={cursor !== null}
        loading={loading}
        onLoadMore={() => void loadPage(cursor)}
      />
      <main className="main">
        {info?.damaged && (
          <DamagedBanner
            problems={info.damaged}
            onRestored={(report) => {
              setNotice(report);
              setError(null);
              void loadPage(null);
              api.appInfo().then(setInfo, () => undefined);
              setVersion((v) => v + 1);
            }}
          />
        )}
        {info?.read_only && !info.damaged && (
          <div className="banner error" role="status" data-testid="read-only">
            <strong>This history is open read-only:</strong> its folder <code>{info.data_dir}</code> cannot be
            written. You can read, search and export it; new messages and changes are not possible.
          </div>
        )}
        {notice && (
          <div className="banner info" role="status" data-testid="restore-result">
            {notice}{" "}
            <button type="button" className="link" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </div>
        )}
        {error && (
          <div className="banner error" role="alert">
            {error.message}
            {error.detail && (
              <details data-testid="error-detail">
                <summary>Details</summary>
                <code>{error.detail}</code>
              </details>
            )}
          </div>
        )}
        {view === "settings" ? (
          <SettingsView onSaved={() => setSettingsVersion((v) => v + 1)} onImported={() => void loadPage(null)} />
        ) : view === "insights" ? (
          <InsightsView
            onOpen={(id) => {
              setView("conversation");
              setFocus(null);
              setSelected(id);
            }}
          />
        ) : view === "bookmarks" ? (
          <BookmarksView onOpen={openMessage} />
        ) : asking ? (
          <AskView onOpen={openMessage} />
        ) : detail ? (
          <ConversationView
            detail={detail}
            focus={focus}
            onChanged={() => setVersion((v) => v + 1)}
            onOpenSettings={() => setView("settings")}
            onDeleted={(id) => {
              setConversations((prev) => prev.filter((c) => c.id !== id));
              setSelected(null);
            }}
          />
        ) : (
          <div className="empty">
            <h1>Hindsight</h1>
            {!loading && conversations.length === 0 ? (
              <p>
                No conversations yet. Start one with <strong>New chat</strong>, or import a history (Hindsight
                JSON or a ChatGPT <code>conversations.json</code>) in{" "}
                <button className="link" onClick={() => setView("settings")} data-testid="empty-import">
                  Settings
                </button>{" "}
                or with <code>hindsight import FILE</code>.
              </p>
            ) : (
              <p>Pick a conversation on the left.</p>
            )}
            {info && (
              <p className="muted">
                {info.conversation_count} conversations · {info.message_count} messages · data in{" "}
                <code>{info.data_dir}</code>
              </p>
            )}
          </div>
        )}
      </main>
    </div>
  );
}
