import { useEffect, useRef, useState } from "react";
import { api, errorMessage, type ConversationDetail, type Message } from "./api";
import { formatDateTime, formatTime } from "./format";
import { InsightsPanel } from "./InsightsPanel";
import { Composer } from "./Composer";
import { Markdown } from "./Markdown";
import { chatEventApplier, withLiveAnswers } from "./chatEvents";
import { Reactions } from "./Reactions";
import { Versions, type Shown } from "./Versions";

/** The note on an answer ended by its token limit (chat::CUT_AT_LIMIT): Continue goes on. */
const CUT_AT_LIMIT = "cut at the answer length limit";

// Message text is rendered as markdown through React elements (see Markdown.tsx): raw HTML and
// script URLs in a message never run.
export function ConversationView({
  detail,
  focus,
  onChanged,
  onDeleted,
  onOpenSettings,
  focusComposer = false,
}: {
  detail: ConversationDetail;
  /** A message to scroll to and highlight (opened from a search hit or a citation). */
  focus: string | null;
  onChanged: () => void;
  onDeleted: (id: string) => void;
  onOpenSettings: () => void;
  /** The message box takes the keyboard when the view appears (a chat just created). */
  focusComposer?: boolean;
}) {
  const c = detail.conversation;
  // Below 1100 px the insights panel is a drawer (styles.css); Escape closes it.
  const [insightsOpen, setInsightsOpen] = useState(false);
  useEffect(() => {
    if (!insightsOpen) return;
    const close = (e: KeyboardEvent) => e.key === "Escape" && setInsightsOpen(false);
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [insightsOpen]);
  const [error, setError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    setRenaming(null);
    setConfirmDelete(false);
  }, [c.id]);
  // Reads the box itself: a fast Enter can come before React has seen the last keystroke.
  const saveTitle = (value: string) => {
    const title = value.trim();
    if (!title || title === c.title) {
      setRenaming(null);
      return;
    }
    api.renameConversation(c.id, title).then(
      () => {
        setRenaming(null);
        onChanged();
      },
      (e) => setError(errorMessage(e)),
    );
  };
  const [messages, setMessages] = useState<Message[]>(detail.messages);
  // Only new messages from the store replace the list (a new title alone keeps it), and an
  // answer streaming here keeps its text: the store holds less of it until it is done (the
  // conversation is read again when another computer's changes arrive).
  useEffect(() => setMessages((shown) => withLiveAnswers(shown, detail.messages)), [detail.messages]);
  // Reactions and bookmarks show at once; the stored message comes back and replaces it.
  const update = (m: Message, call: Promise<Message>, optimistic: Message) => {
    setMessages((ms) => ms.map((x) => (x.id === m.id ? optimistic : x)));
    call.then(
      (stored) => setMessages((ms) => ms.map((x) => (x.id === stored.id ? stored : x))),
      (e) => {
        setError(errorMessage(e));
        setMessages((ms) => ms.map((x) => (x.id === m.id ? m : x)));
      },
    );
  };
  const react = (m: Message, emoji: string) =>
    update(m, api.toggleReaction(m.id, emoji), {
      ...m,
      reactions: m.reactions.includes(emoji) ? m.reactions.filter((r) => r !== emoji) : [...m.reactions, emoji],
    });
  const bookmark = (m: Message) =>
    update(m, api.setBookmark(m.id, !m.is_bookmarked), { ...m, is_bookmarked: !m.is_bookmarked });
  // Opened at a message (a search hit, a citation, a bookmark): scrolled to the middle once,
  // highlighted briefly (styles.css fades it); later updates of the conversation do not pull
  // the view back to it.
  const jumped = useRef<string | null>(null);
  useEffect(() => {
    if (!focus || jumped.current === focus) return;
    const el = document.querySelector(`[data-message-id="${CSS.escape(focus)}"]`);
    if (!el) return;
    el.scrollIntoView({ block: "center" });
    jumped.current = focus;
  }, [focus, messages]);
  // A streaming answer is followed while the view is at the bottom; scrolled up, the view stays
  // where the reader is and a button jumps back down.
  const [atBottom, setAtBottom] = useState(true);
  // Opened at the latest message (no target), the view stays at the bottom while what is above
  // settles (answers' markdown laid out, a slow machine's late paint), until the reader scrolls.
  const pinned = useRef(!focus);
  useEffect(() => {
    const main = document.querySelector<HTMLElement>(".main");
    if (!main) return;
    const check = () => {
      const near = main.scrollHeight - main.scrollTop - main.clientHeight < 80;
      pinned.current = near;
      setAtBottom(near);
    };
    check();
    if (focus) pinned.current = false;
    main.addEventListener("scroll", check, { passive: true });
    const list = main.querySelector(".messages");
    const grew =
      list && typeof ResizeObserver !== "undefined"
        ? new ResizeObserver(() => {
            if (pinned.current) main.scrollTo({ top: main.scrollHeight });
          })
        : null;
    if (list) grew?.observe(list);
    return () => {
      main.removeEventListener("scroll", check);
      grew?.disconnect();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const streaming = messages.some((m) => m.state === "streaming");
  const toBottom = () => {
    const main = document.querySelector<HTMLElement>(".main");
    main?.scrollTo({ top: main.scrollHeight });
  };
  // Opened without a target message, a conversation shows its latest messages, as chat apps do
  // (once: the view is keyed by the conversation).
  useEffect(() => {
    if (!focus) toBottom();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    if (streaming && atBottom) toBottom();
    // Follows each piece of text while it streams.
  }, [messages, streaming, atBottom]);
  const [regenerating, setRegenerating] = useState(false);
  // An earlier version of an answer being looked at, by message id.
  const [olderShown, setOlderShown] = useState<Record<string, Shown>>({});
  // Esc stops a regeneration, as it stops an answer being sent.
  useEffect(() => {
    if (!regenerating) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && !e.shiftKey && void api.stopGeneration(c.id);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [regenerating, c.id]);
  // Regenerate, or Continue an unfinished answer: both stream into the last answer.
  const regenerate = (how: "regenerate" | "continue" = "regenerate") => {
    setRegenerating(true);
    setError(null);
    (how === "continue" ? api.continueAnswer : api.regenerate)(c.id, chatEventApplier(setMessages))
      .catch((e) => setError(errorMessage(e)))
      .finally(() => {
        setRegenerating(false);
        onChanged();
      });
  };
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (m: Message) =>
    navigator.clipboard.writeText(m.content).then(
      () => {
        setCopied(m.id);
        setTimeout(() => setCopied((id) => (id === m.id ? null : id)), 1500);
      },
      (e) => setError(`Could not copy: ${errorMessage(e)}`),
    );
  const lastAi = messages.length > 0 && messages[messages.length - 1].sender === "ai" ? messages[messages.length - 1] : null;
  const lifecycle = (call: Promise<unknown>) =>
    call.then(
      () => {
        setError(null);
        onChanged();
      },
      (e) => setError(errorMessage(e)),
    );
  return (
    <div className="conversation-layout">
    <section className="conversation" data-testid="conversation-view">
      <header className="conversation-header">
        <div className="conversation-title-row">
          {renaming !== null ? (
            <input
              className="title-input"
              data-testid="title-input"
              aria-label="Conversation title"
              autoFocus
              onFocus={(e) => e.currentTarget.select()}
              value={renaming}
              maxLength={200}
              onChange={(e) => setRenaming(e.target.value)}
              onBlur={(e) => saveTitle(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") saveTitle(e.currentTarget.value);
                if (e.key === "Escape") setRenaming(null);
              }}
            />
          ) : (
            <h1 data-testid="conversation-heading" title="Double-click to rename" onDoubleClick={() => setRenaming(c.title)}>
              {c.title}
            </h1>
          )}
          <span className="header-actions">
          <button
            className="secondary insights-toggle"
            data-testid="insights-toggle"
            aria-expanded={insightsOpen}
            onClick={() => setInsightsOpen((o) => !o)}
          >
            Insights
          </button>
          <button className="secondary" data-testid="rename" onClick={() => setRenaming(c.title)}>
            Rename
          </button>
          <button className="secondary danger" data-testid="delete" onClick={() => setConfirmDelete(true)}>
            Delete
          </button>
          {c.status === "active" ? (
            // Nothing to end (or analyse) in a chat with no messages yet.
            messages.length > 0 && (
              <button className="secondary" data-testid="end-conversation" onClick={() => lifecycle(api.endConversation(c.id))}>
                End conversation
              </button>
            )
          ) : (
            <button className="secondary" onClick={() => lifecycle(api.reopenConversation(c.id))}>
              Reopen
            </button>
          )}
          </span>
        </div>
        {confirmDelete && (
          <div className="confirm" role="alertdialog" aria-label="Delete conversation" data-testid="confirm-delete">
            <span>
              Delete “{c.title}” and its {c.message_count} messages? This cannot be undone.
            </span>
            <button
              className="danger"
              data-testid="confirm-delete-yes"
              onClick={() =>
                api.deleteConversation(c.id).then(
                  () => onDeleted(c.id),
                  (e) => setError(errorMessage(e)),
                )
              }
            >
              Delete
            </button>
            <button className="secondary" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </div>
        )}
        <p className="muted">
          <span className={`badge ${c.status}`} data-testid="conversation-status">
            {c.status}
          </span>{" "}
          started {formatDateTime(c.start_time)}
          {c.end_time && <> · ended {formatDateTime(c.end_time)}</>}
        </p>
        {error && <p className="error-text">{error}</p>}
      </header>
      <ol className="messages">
        {messages.map((m) => (
          <li
            key={m.id}
            className={`message ${m.sender}${m.id === focus ? " focused" : ""}`}
            data-testid="message"
            data-message-id={m.id}
          >
            <div className="message-meta">
              <strong>{m.sender === "user" ? "You" : "Assistant"}</strong>
              <time dateTime={m.timestamp}>{formatTime(m.timestamp)}</time>
              {m.state !== "complete" && <span className={`badge ${m.state}`}>{m.state}</span>}
            </div>
            {m.error && m.state !== "complete" && m.state !== "streaming" && (
              <p className="error-text small">{m.error}</p>
            )}
            {m.error === CUT_AT_LIMIT && m.state === "complete" && (
              <p className="muted small" data-testid="cut-note">
                The answer reached its length limit (Settings → answer length) and may stop mid-sentence.
              </p>
            )}
            <div className="message-body">
              {olderShown[m.id] ? (
                <>
                  <p className="muted small" data-testid="older-version">
                    Earlier answer, replaced by a regeneration
                  </p>
                  <Markdown text={olderShown[m.id]!.version.content} />
                </>
              ) : (
                <Markdown text={m.content} />
              )}
            </div>
            <div className="message-actions">
              <button
                className={m.is_bookmarked ? "reaction on" : "reaction"}
                aria-pressed={m.is_bookmarked}
                aria-label={m.is_bookmarked ? "Remove bookmark" : "Bookmark"}
                title={m.is_bookmarked ? "Bookmarked" : "Bookmark"}
                data-testid="bookmark"
                onClick={() => bookmark(m)}
              >
                🔖
              </button>
              <Reactions reactions={m.reactions} onToggle={(emoji) => react(m, emoji)} />
              <span className="spacer" />
              {m.earlier_versions > 0 && m.state !== "streaming" && (
                <Versions message={m} onShow={(shown) => setOlderShown((o) => ({ ...o, [m.id]: shown }))} />
              )}
              {m.id === lastAi?.id && m.state === "streaming" && regenerating && (
                <button className="link small" data-testid="stop-regenerate" onClick={() => void api.stopGeneration(c.id)}>
                  Stop
                </button>
              )}
              <button className="link small" data-testid="copy" onClick={() => void copy(m)}>
                {copied === m.id ? "Copied" : "Copy"}
              </button>
              {m.id === lastAi?.id && c.status === "active" && m.state !== "streaming" && (
                <>
                  {(m.state === "incomplete" || m.error === CUT_AT_LIMIT) && m.content.trim() !== "" && (
                    <button
                      className="link small"
                      data-testid="continue"
                      disabled={regenerating}
                      title="Go on from where the answer stopped"
                      onClick={() => regenerate("continue")}
                    >
                      Continue
                    </button>
                  )}
                  <button className="link small" data-testid="regenerate" disabled={regenerating} onClick={() => regenerate()}>
                    {m.state === "complete" ? "Regenerate" : "Retry"}
                  </button>
                </>
              )}
            </div>
          </li>
        ))}
      </ol>
      {!atBottom && messages.length > 0 && (
        <button className="secondary to-bottom" data-testid="to-bottom" aria-label="Jump to the latest message" onClick={toBottom}>
          ↓{streaming ? " New text" : ""}
        </button>
      )}
      <Composer
        conversationId={c.id}
        ended={c.status === "ended"}
        onMessages={setMessages}
        onDone={onChanged}
        onOpenSettings={onOpenSettings}
        autoFocus={focusComposer}
      />
    </section>
    <InsightsPanel conversation={c} open={insightsOpen} onClose={() => setInsightsOpen(false)} />
    </div>
  );
}
