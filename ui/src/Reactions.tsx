import { useEffect, useRef, useState } from "react";

/** Always offered under a message: what people use most. */
export const THUMBS = ["👍", "👎"];
/** The rest, a click away in the picker. */
export const PICKER = ["❤️", "😂", "🎉", "🤔", "😮", "🙏", "🔥", "✅"];

/**
 * A message's reactions: thumbs up and down, every other reaction it has as a chip, and a
 * "+" that opens a small picker (arrow keys move, Enter picks, Escape closes).
 */
export function Reactions({ reactions, onToggle }: { reactions: string[]; onToggle: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  const picker = useRef<HTMLDivElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    picker.current?.querySelector<HTMLButtonElement>("button")?.focus();
    const away = (e: MouseEvent) => {
      if (!picker.current?.contains(e.target as Node) && e.target !== opener.current) setOpen(false);
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open]);
  const close = () => {
    setOpen(false);
    opener.current?.focus();
  };
  const pick = (emoji: string) => {
    onToggle(emoji);
    close();
  };
  const keys = (e: React.KeyboardEvent) => {
    if (e.key === "Escape") {
      // Only the picker closes, not what Escape means elsewhere (stopping an answer).
      e.stopPropagation();
      close();
      return;
    }
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    const buttons = [...(picker.current?.querySelectorAll<HTMLButtonElement>("button") ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    buttons[(at + step + buttons.length) % buttons.length]?.focus();
  };
  const chip = (emoji: string) => (
    <button
      key={emoji}
      className={reactions.includes(emoji) ? "reaction on" : "reaction"}
      aria-pressed={reactions.includes(emoji)}
      aria-label={`React ${emoji}`}
      data-testid="reaction"
      data-emoji={emoji}
      onClick={() => onToggle(emoji)}
    >
      {emoji}
    </button>
  );
  return (
    <span className="reactions">
      {THUMBS.map(chip)}
      {reactions.filter((r) => !THUMBS.includes(r)).map(chip)}
      <button
        ref={opener}
        className="reaction more"
        aria-label="More reactions"
        aria-haspopup="true"
        aria-expanded={open}
        title="More reactions"
        data-testid="reaction-more"
        onClick={() => setOpen(!open)}
      >
        +
      </button>
      {open && (
        <div className="reaction-picker" role="group" aria-label="Reactions" ref={picker} onKeyDown={keys} data-testid="reaction-picker">
          {PICKER.map((emoji) => (
            <button
              key={emoji}
              className={reactions.includes(emoji) ? "reaction on" : "reaction"}
              aria-pressed={reactions.includes(emoji)}
              aria-label={`React ${emoji}`}
              data-testid="pick-reaction"
              data-emoji={emoji}
              onClick={() => pick(emoji)}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}
