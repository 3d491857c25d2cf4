import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorCode, errorDetail, errorMessage, type AppInfo, type Conversation, type ConversationDetail, type Link } from "./api";
import { Sidebar } from "./Sidebar";
import { ConversationView } from "./ConversationView";
import { AskView } from "./AskView";
import { BookmarksView } from "./BookmarksView";
import { InsightsView } from "./InsightsView";
import { SettingsView } from "./SettingsView";
import { DamagedBanner } from "./DamagedBanner";
import { Welcome } from "./Welcome";

const SHORTCUTS: [string, string][] = [
  ["Ctrl+N", "New chat"],
  ["Ctrl+K", "Search your history"],
  ["Ctrl+Shift+A", "Ask your history"],
  ["Ctrl+,", "Settings"],
  ["Ctrl+B", "Show or hide the sidebar"],
  ["Shift+Esc", "Write a message"],
  ["Enter / Shift+Enter", "Send / new line"],
  ["Esc", "Stop the answer; close a panel"],
  ["?", "This list"],
];

/** The keyboard shortcuts ("?" opens it; Esc or the button closes it). On a Mac, Cmd for Ctrl. */
function ShortcutSheet({ onClose }: { onClose: () => void }) {
  return (
    <div className="sheet-backdrop" onClick={onClose}>
      <div
        className="sheet"
        role="dialog"
        aria-modal="true"
        aria-label="Keyboard shortcuts"
        data-testid="shortcut-sheet"
        onClick={(e) => e.stopPropagation()}
      >
        <h2>Keyboard shortcuts</h2>
        <dl>
          {SHORTCUTS.map(([keys, what]) => (
            <div key={keys}>
              <dt>
                <kbd>{keys}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <button autoFocus className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

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
  // The sidebar can be hidden (its button, or Ctrl/Cmd+B) to give a narrow window to the chat;
  // the choice is remembered.
  const [sidebarOpen, setSidebarOpen] = useState(() => window.localStorage?.getItem("hindsight.sidebar") !== "hidden");
  const toggleSidebar = useCallback(() => {
    setSidebarOpen((open) => {
      window.localStorage?.setItem("hindsight.sidebar", open ? "hidden" : "shown");
      return !open;
    });
  }, []);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  // The chat made last with New chat or Ctrl+N: its message box takes the keyboard when it shows.
  const [created, setCreated] = useState<string | null>(null);
  const newChat = () =>
    api.createConversation().then(
      (c) => {
        setConversations((prev) => [c, ...prev]);
        setAsking(false);
        setFocus(null);
        setSelected(c.id);
        setCreated(c.id);
      },
      (e) => showError(e),
    );
  const newChatRef = useRef(newChat);
  newChatRef.current = newChat;
  // Keyboard shortcuts (the sheet below lists them; "?" opens it).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = (e.ctrlKey || e.metaKey) && !e.altKey;
      const key = e.key.toLowerCase();
      const typing = e.target instanceof HTMLElement && e.target.closest("input, textarea, select, [contenteditable]");
      const run = (f: () => void) => {
        e.preventDefault();
        f();
      };
      if (mod && !e.shiftKey && key === "b") run(toggleSidebar);
      else if (mod && !e.shiftKey && key === "n") run(() => void newChatRef.current());
      else if (mod && !e.shiftKey && key === "k")
        run(() => {
          setSidebarOpen(true);
          setTimeout(() => document.querySelector<HTMLElement>("[data-testid=search-box]")?.focus(), 0);
        });
      else if (mod && e.shiftKey && key === "a") run(() => setView("ask"));
      else if (mod && !e.shiftKey && e.key === ",") run(() => setView("settings"));
      else if (e.key === "Escape" && e.shiftKey)
        run(() => document.querySelector<HTMLElement>("[data-testid=composer]")?.focus());
      else if (e.key === "?" && !mod && !typing) run(() => setShortcutsOpen(true));
      else if (e.key === "Escape") setShortcutsOpen(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [toggleSidebar]);
  const openMessage = (conversationId: string, messageId: string) => {
    setAsking(false);
    setFocus(messageId);
    setSelected(conversationId);
  };
  // `hindsight://conversation/ID#MESSAGE` links: the one the window was started with, then
  // those later starts hand over (the desktop opening a link while the window is open).
  useEffect(() => {
    const open = (l: Link) => {
      setView("conversation");
      setFocus(l.message_id);
      setSelected(l.conversation_id);
    };
    api.takeLink().then((l) => l && open(l), () => undefined);
    const off = api.onLink(open);
    return () => void off.then((f) => f());
  }, []);

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

  // A title written by the model after the first answer: in the sidebar and the header.
  useEffect(() => {
    const off = api.onConversationRenamed((c) => {
      setConversations((prev) => prev.map((x) => (x.id === c.id ? { ...x, title: c.title } : x)));
      setDetail((d) => (d && d.conversation.id === c.id ? { ...d, conversation: { ...d.conversation, title: c.title } } : d));
    });
    return () => void off.then((f) => f());
  }, []);

  const [version, setVersion] = useState(0);
  const [settingsVersion, setSettingsVersion] = useState(0);
  // Changes from other computers (sync): the conversation list, the open conversation and
  // Settings' counts again.
  const [historyVersion, setHistoryVersion] = useState(0);
  useEffect(() => {
    let lastAt: string | null = null;
    const off = api.onSyncStatus((s) => {
      if (s.last && s.last.received > 0 && s.last.at !== lastAt) {
        lastAt = s.last.at;
        void loadPage(null);
        setVersion((v) => v + 1);
        setHistoryVersion((v) => v + 1);
      }
    });
    return () => void off.then((f) => f());
  }, [loadPage]);
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
      (e) => {
        if (cancelled) return;
        // Deleted meanwhile (on another computer, by sync): say so instead of an error.
        if (errorCode(e) === "not_found") {
          setSelected(null);
          setNotice("That conversation was deleted, maybe on another computer.");
        } else showError(e);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [selected, version]);

  return (
    <div className={`app${sidebarOpen ? "" : " sidebar-hidden"}`}>
      {/* First Tab stop: past the sidebar to what the page is about. */}
      <a
        href="#main"
        className="skip-link"
        data-testid="skip-link"
        onClick={(e) => {
          e.preventDefault();
          const main = document.getElementById("main");
          const target = main?.querySelector<HTMLElement>("textarea, input:not([type=checkbox]):not([type=radio])") ?? main;
          target?.focus();
        }}
      >
        Skip to content
      </a>
      <Sidebar
        onHide={toggleSidebar}
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
        onNewChat={() => void newChat()}
        hasMore={cursor !== null}
        loading={loading}
        onLoadMore={() => void loadPage(cursor)}
      />
      {shortcutsOpen && <ShortcutSheet onClose={() => setShortcutsOpen(false)} />}
      <main className="main" id="main" tabIndex={-1}>
        {!sidebarOpen && (
          <button
            className="secondary show-sidebar"
            data-testid="show-sidebar"
            title="Show the sidebar (Ctrl+B)"
            onClick={toggleSidebar}
          >
            ☰ <span className="visually-hidden">Show sidebar</span>
          </button>
        )}
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
          <div className="banner info" role="status" data-testid="notice">
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
          <SettingsView
            onSaved={() => setSettingsVersion((v) => v + 1)}
            onImported={() => void loadPage(null)}
            historyVersion={historyVersion}
          />
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
        ) : detail && selected !== null && detail.conversation.id !== selected ? (
          // The next conversation is loading: nothing of the last one shows under its title.
          <p className="muted pad" data-testid="conversation-loading">
            Loading…
          </p>
        ) : detail ? (
          <ConversationView
            // A new conversation is a new view: no message of the last one shows under its title.
            key={detail.conversation.id}
            detail={detail}
            focus={focus}
            focusComposer={detail.conversation.id === created}
            onChanged={() => setVersion((v) => v + 1)}
            onOpenSettings={() => setView("settings")}
            onDeleted={(id) => {
              setConversations((prev) => prev.filter((c) => c.id !== id));
              setSelected(null);
            }}
          />
        ) : (
          !loading && conversations.length === 0 && !info?.damaged ? (
            <Welcome
              onImported={() => void loadPage(null)}
              onNewChat={() => void newChat()}
              onOpenSettings={() => setView("settings")}
            />
          ) : (
            <div className="empty">
              <h1>Hindsight</h1>
              <p>Pick a conversation on the left, or start a new chat.</p>
              {info && (
                <p className="muted">
                  {info.conversation_count} conversations · {info.message_count} messages · data in{" "}
                  <code>{info.data_dir}</code>
                </p>
              )}
            </div>
          )
        )}
      </main>
    </div>
  );
}
