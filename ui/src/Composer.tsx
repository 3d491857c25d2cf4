import { useEffect, useRef, useState } from "react";
import { api, errorMessage, type Message } from "./api";
import { chatEventApplier } from "./chatEvents";

/**
 * The message box under a conversation. Sends with Enter (Shift+Enter: new line), streams the
 * answer into the message list through `onMessages`, and can stop it (Stop or Esc). Writing
 * to an ended conversation reopens it first (`ended`): nothing to click before continuing.
 * `autoFocus` gives the box the keyboard as it appears (a chat just made with New chat or Ctrl+N).
 */
export function Composer({
  conversationId,
  ended = false,
  onMessages,
  onDone,
  onOpenSettings,
  autoFocus = false,
}: {
  conversationId: string;
  ended?: boolean;
  autoFocus?: boolean;
  /** Adds or replaces messages (by id) in the view. */
  onMessages: (update: (ms: Message[]) => Message[]) => void;
  onDone: () => void;
  onOpenSettings?: () => void;
}) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Without any model (no server answers and the built-in one is not installed) the box is
  // disabled, saying why.
  const [noModel, setNoModel] = useState<string | null>(null);
  const [recheck, setRecheck] = useState(0);
  // On mount, not after a fixed delay: the view appears only once the conversation has loaded,
  // which on a busy machine takes longer than any delay one would pick.
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (autoFocus) box.current?.focus();
  }, [autoFocus, conversationId]);
  useEffect(() => {
    api.llmStatus(false).then(
      (s) => setNoModel(s.available === false ? (s.problem ?? "the LLM server is not answering") : null),
      (e) => setNoModel(errorMessage(e)),
    );
  }, [conversationId, recheck]);

  const send = async () => {
    const t = text.trim();
    if (!t || busy) return;
    setBusy(true);
    setError(null);
    const apply = chatEventApplier(onMessages);
    try {
      if (ended) await api.reopenConversation(conversationId);
      await api.sendMessage(conversationId, t, (e) => {
        if (e.event === "started") setText("");
        apply(e);
      });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
      onDone();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {noModel && (
        <p className="error-text" data-testid="no-model">
          No model can answer: {noModel}.{" "}
          {onOpenSettings && (
            <button type="button" className="link" data-testid="no-model-settings" onClick={onOpenSettings}>
              Open Settings
            </button>
          )}{" "}
          <button type="button" className="link" onClick={() => setRecheck((n) => n + 1)}>
            Check again
          </button>
        </p>
      )}
      <div className="composer-row">
        <textarea
          ref={box}
          data-testid="composer"
          aria-label="Message"
          placeholder="Write a message… (Enter sends, Shift+Enter adds a line)"
          rows={2}
          disabled={noModel !== null}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape" && busy) {
              e.preventDefault();
              void api.stopGeneration(conversationId);
              return;
            }
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        {busy ? (
          <button type="button" className="secondary" data-testid="stop" onClick={() => void api.stopGeneration(conversationId)}>
            Stop
          </button>
        ) : (
          <button type="submit" data-testid="send" disabled={!text.trim()}>
            Send
          </button>
        )}
      </div>
    </form>
  );
}
