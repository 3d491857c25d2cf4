import { useEffect, useState } from "react";
import { api, errorMessage, type LlmStatus } from "./api";

/**
 * Which engine answers: "Built-in model" (with a hint that a bigger local server answers better)
 * or the server. A click opens Settings. `version` changes when the settings were saved.
 */
export function LlmBadge({ onOpenSettings, version }: { onOpenSettings: () => void; version: number }) {
  const [status, setStatus] = useState<LlmStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.llmStatus(false).then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (e) => setError(errorMessage(e)),
    );
  }, [version]);

  const builtin = status?.provider === "builtin";
  const title = builtin
    ? `${status?.reason ? status.reason + ". " : ""}The built-in model is small: a local server (LM Studio, llama.cpp, Ollama) gives better answers. Click to set one up.`
    : `Answers come from ${status?.url ?? "a server"}. Click to change.`;
  return (
    <div className="llm-badge-wrap">
      <button
        className={`llm-badge${builtin ? " builtin" : ""}${error || status?.available === false ? " failed" : ""}`}
        data-testid="llm-badge"
        data-provider={status?.provider ?? ""}
        data-model={status?.model ?? ""}
        title={error ?? title}
        onClick={onOpenSettings}
      >
        {error ? "No model" : !status ? "Model…" : builtin ? "Built-in model" : `Server · ${status.model || hostOf(status.url)}`}
      </button>
      {builtin && (
        <p className="llm-hint" data-testid="llm-hint">
          {status?.model.replace(" (built-in)", "")} in use. A local server gives better answers.
        </p>
      )}
      {error && <p className="llm-hint error-text">{error}</p>}
      {status?.available === false && <p className="llm-hint error-text">{status.problem}</p>}
    </div>
  );
}

export function hostOf(url: string | null): string {
  if (!url) return "";
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
