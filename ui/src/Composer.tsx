import { useState } from "react";
import { api, errorMessage, type Message } from "./api";

/**
 * The message box under an active conversation. Sends with Enter (Shift+Enter: new line),
 * streams the answer into the message list through `onMessages`, and can stop it.
 */
export function Composer({
  conversationId,
  onMessages,
  onDone,
}: {
  conversationId: string;
  /** Adds or replaces messages (by id) in the view. */
  onMessages: (update: (ms: Message[]) => Message[]) => void;
  onDone: () => void;
}) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const send = async () => {
    const t = text.trim();
    if (!t || busy) return;
    setBusy(true);
    setError(null);
    let aiId: string | null = null;
    try {
      await api.sendMessage(conversationId, t, (e) => {
        if (e.event === "started") {
          setText("");
          aiId = e.data.ai.id;
          const added = [e.data.user, e.data.ai].filter((m): m is Message => m !== null);
          onMessages((ms) => [...ms, ...added]);
        } else if (e.event === "token") {
          const piece = e.data;
          onMessages((ms) => ms.map((m) => (m.id === aiId ? { ...m, content: m.content + piece } : m)));
        } else {
          const stored = e.data;
          onMessages((ms) => ms.map((m) => (m.id === stored.id ? stored : m)));
        }
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
      <div className="composer-row">
        <textarea
          data-testid="composer"
          aria-label="Message"
          placeholder="Write a message… (Enter sends, Shift+Enter adds a line)"
          rows={2}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
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
