import { useEffect, useState } from "react";
import { api, type Message, type MessageVersion } from "./api";

/** Which version of a message is shown: `null` is the newest (the message itself). */
export type Shown = { version: MessageVersion; of: number } | null;

/**
 * ‹ 2/3 › under a regenerated answer: steps through its earlier versions (kept in the store)
 * and back to the newest. `onShow` hears which version to render.
 */
export function Versions({ message, onShow }: { message: Message; onShow: (shown: Shown) => void }) {
  const total = message.earlier_versions + 1;
  const [at, setAt] = useState(total);
  const [versions, setVersions] = useState<MessageVersion[] | null>(null);
  // A new regeneration: back to the newest, and the list is read again when needed.
  useEffect(() => {
    setAt(total);
    setVersions(null);
    onShow(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [total, message.id]);
  const go = async (n: number) => {
    if (n < 1 || n > total) return;
    const list = versions ?? (await api.messageVersions(message.id).catch(() => null));
    if (!list) return;
    setVersions(list);
    setAt(n);
    onShow(n === total ? null : { version: list[n - 1], of: total });
  };
  return (
    <span className="versions" data-testid="versions">
      <button className="link small" aria-label="Previous version" disabled={at <= 1} onClick={() => void go(at - 1)} data-testid="version-prev">
        ‹
      </button>
      <span className="small" data-testid="version-at">
        {at}/{total}
      </span>
      <button className="link small" aria-label="Next version" disabled={at >= total} onClick={() => void go(at + 1)} data-testid="version-next">
        ›
      </button>
    </span>
  );
}
