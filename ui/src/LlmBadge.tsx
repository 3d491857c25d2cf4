import { useEffect, useState } from "react";
import { api, errorMessage, type LlmSettings, type LlmStatus, type Provider } from "./api";

/**
 * Which engine answers: "Built-in model" (with a hint that a bigger local server answers better)
 * or the server's address. Opens the model settings: built-in, a server URL, or automatic.
 */
export function LlmBadge() {
  const [status, setStatus] = useState<LlmStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const refresh = (probe: boolean) =>
    api.llmStatus(probe).then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (e) => setError(errorMessage(e)),
    );
  useEffect(() => {
    void refresh(false);
  }, []);

  const builtin = status?.provider === "builtin";
  const title = builtin
    ? `${status?.reason ? status.reason + ". " : ""}The built-in model is small: a local server (LM Studio, llama.cpp, Ollama) gives better answers. Click to set one up.`
    : `Answers come from ${status?.url ?? "a server"}. Click to change.`;
  return (
    <div className="llm-badge-wrap">
      <button
        className={`llm-badge${builtin ? " builtin" : ""}${error ? " failed" : ""}`}
        data-testid="llm-badge"
        data-provider={status?.provider ?? ""}
        title={error ?? title}
        onClick={() => setOpen((o) => !o)}
      >
        {error ? "No model" : !status ? "Model…" : builtin ? "Built-in model" : `Server · ${status.model || hostOf(status.url)}`}
      </button>
      {builtin && !open && <p className="llm-hint">Small built-in model in use. A local server gives better answers.</p>}
      {error && !open && <p className="llm-hint error-text">{error}</p>}
      {open && (
        <LlmSettingsForm
          onClose={() => setOpen(false)}
          onSaved={() => {
            setOpen(false);
            void refresh(false);
          }}
        />
      )}
    </div>
  );
}

function hostOf(url: string | null): string {
  if (!url) return "";
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function LlmSettingsForm({ onClose, onSaved }: { onClose: () => void; onSaved: () => void }) {
  const [settings, setSettings] = useState<LlmSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    api.getLlmSettings().then(setSettings, (e) => setError(errorMessage(e)));
  }, []);
  if (!settings) return <div className="llm-settings">{error ?? "Loading…"}</div>;
  const set = (patch: Partial<LlmSettings>) => setSettings({ ...settings, ...patch });
  const choices: [Provider, string][] = [
    ["auto", "Automatic: the server below if it answers, else the built-in model"],
    ["builtin", "Built-in model (SmolLM2-135M, runs in the app)"],
    ["server", "Local server only (LM Studio, llama.cpp, Ollama)"],
  ];
  return (
    <form
      className="llm-settings"
      data-testid="llm-settings"
      onSubmit={(e) => {
        e.preventDefault();
        setSaving(true);
        api.saveLlmSettings(settings).then(onSaved, (e) => {
          setError(errorMessage(e));
          setSaving(false);
        });
      }}
    >
      <fieldset>
        <legend>Model</legend>
        {choices.map(([value, label]) => (
          <label key={value} className="radio">
            <input
              type="radio"
              name="provider"
              value={value}
              checked={settings.provider === value}
              onChange={() => set({ provider: value })}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <label>
        Server URL
        <input
          type="url"
          data-testid="server-url"
          placeholder="http://127.0.0.1:8080/v1"
          value={settings.base_url}
          disabled={settings.provider === "builtin"}
          onChange={(e) => set({ base_url: e.target.value })}
        />
      </label>
      <label>
        Model name (empty: the server's first)
        <input
          value={settings.model}
          disabled={settings.provider === "builtin"}
          onChange={(e) => set({ model: e.target.value })}
        />
      </label>
      {error && <p className="error-text">{error}</p>}
      <div className="row">
        <button type="submit" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
