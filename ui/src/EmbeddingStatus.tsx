import { useEffect, useState } from "react";
import { api, type EmbedStatus } from "./api";

/** The sidebar footer: is history searchable by meaning yet? */
export function EmbeddingStatus() {
  const [status, setStatus] = useState<EmbedStatus | null>(null);

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let cancelled = false;
    api.onEmbeddingProgress(setStatus).then((u) => {
      if (cancelled) u();
      else unlisten = u;
    });
    api.embeddingStatus().then((s) => !cancelled && setStatus(s), () => undefined);
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, []);

  if (!status) return null;
  const { done, total, failed } = status.progress;
  let text: string;
  switch (status.state) {
    case "loading":
      text = "Loading the embedding model…";
      break;
    case "missing":
    case "error":
      text = status.message ?? "Embeddings unavailable";
      break;
    default:
      text =
        done + failed < total
          ? `Indexing history: ${done} / ${total}`
          : failed > 0
            ? `${failed} messages not indexed yet (will retry)`
            : "History indexed";
  }
  const busy = status.state === "ready" && done + failed < total;
  return (
    <footer className={`embed-status ${status.state}`} data-testid="embedding-status" title={text}>
      <span>{text}</span>
      {busy && <progress max={total} value={done} />}
    </footer>
  );
}
