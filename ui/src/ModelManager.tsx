import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorMessage, type ModelEntry, type ModelId } from "./api";
import {
  clearDownload,
  pauseDownload,
  progressText,
  startDownload,
  startFromFile,
  useDownloads,
  useDownloadsEnded,
  type DownloadState,
} from "./modelDownloads";

const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
const gb = (n: number) => `${(n / 2 ** 30).toFixed(1)} GB`;

/** One model's row: what it is, where it stands, and what can be done with it. */
function ModelRow({
  model,
  download,
  onChanged,
}: {
  model: ModelEntry;
  download: DownloadState | undefined;
  onChanged: () => void;
}) {
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const running = download?.running ?? false;
  const progress = download?.progress ?? null;
  const paused = !running && (model.paused_bytes > 0 || (download?.paused ?? false)) && !model.installed;
  const id: ModelId = model.id;
  const act = (f: () => Promise<unknown>) => {
    setError(null);
    f().then(onChanged, (e) => setError(errorMessage(e)));
  };
  let status: string;
  if (model.installed) status = "Installed";
  else if (running) status = progress ? progressText(progress) : "Starting…";
  else if (paused) status = `Paused at ${(model.paused_bytes / 1e6).toFixed(0)} of ${mb(model.download_bytes)}`;
  else status = "Not installed";
  const failure = error ?? download?.error ?? null;
  return (
    <li className="model-row" data-testid={`model-${id}`}>
      <div className="model-head">
        <strong>{model.label}</strong>
        <span>{model.name}</span>
        <span className={`model-state${model.installed ? " ok" : ""}`} data-testid={`model-state-${id}`} role="status">
          {status}
        </span>
      </div>
      <p className="muted small">
        {mb(model.download_bytes)} download · needs {gb(model.ram_bytes)} of memory · {model.speed} · {model.licence}
        <br />
        {model.note}. From {model.source}.
      </p>
      {running && progress && (
        <progress
          max={progress.total_bytes}
          value={progress.done_bytes}
          aria-label={`${model.label} download`}
          data-testid={`model-progress-${id}`}
        />
      )}
      <div className="row">
        {!model.installed && !running && (
          <button
            data-testid={`model-download-${id}`}
            onClick={() => {
              setError(null);
              startDownload(id).then(onChanged);
            }}
          >
            {paused ? "Resume" : "Download"}
          </button>
        )}
        {!model.installed && !running && !paused && id !== "embedding" && (
          <button
            className="secondary"
            data-testid={`model-from-file-${id}`}
            title={`Already have ${model.name}'s GGUF (from Hugging Face, LM Studio…)? It is copied in and checked.`}
            onClick={() => {
              setError(null);
              startFromFile(id).then(onChanged);
            }}
          >
            Use a file from disk…
          </button>
        )}
        {running && (
          <button className="secondary" data-testid={`model-pause-${id}`} onClick={() => pauseDownload(id)}>
            {progress?.phase === "copying" ? "Stop" : "Pause"}
          </button>
        )}
        {paused && (
          <button
            className="secondary"
            data-testid={`model-cancel-${id}`}
            onClick={() =>
              act(async () => {
                await api.discardDownload(id);
                clearDownload(id);
              })
            }
          >
            Cancel download
          </button>
        )}
        {model.installed &&
          (confirmRemove ? (
            <span className="confirm" role="alertdialog" aria-label={`Remove ${model.label}`}>
              Remove {model.name} ({mb(model.bytes)})?{" "}
              <button
                className="danger"
                data-testid={`model-remove-yes-${id}`}
                onClick={() =>
                  act(async () => {
                    setConfirmRemove(false);
                    await api.removeModel(id);
                    clearDownload(id);
                  })
                }
              >
                Remove
              </button>{" "}
              <button className="secondary" onClick={() => setConfirmRemove(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button className="secondary" data-testid={`model-remove-${id}`} onClick={() => setConfirmRemove(true)}>
              Remove…
            </button>
          ))}
      </div>
      {failure && (
        <p className="error-text" data-testid={`model-error-${id}`}>
          {failure}
        </p>
      )}
    </li>
  );
}

/**
 * Settings → Models: every model the app knows with its size, memory, speed, licence and source;
 * download with progress, pause, resume and cancel; remove. `onChanged` hears that what is
 * installed changed (the built-in model list and the badge follow).
 */
export function ModelManager({ onChanged }: { onChanged?: () => void }) {
  const [models, setModels] = useState<ModelEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const downloads = useDownloads();
  const ended = useDownloadsEnded();
  const changed = useRef(onChanged);
  changed.current = onChanged;
  const refresh = useCallback(() => {
    api.modelCatalog().then(
      (m) => {
        setModels(m);
        setError(null);
      },
      (e) => setError(errorMessage(e)),
    );
  }, []);
  useEffect(() => {
    refresh();
    if (ended > 0) changed.current?.();
  }, [refresh, ended]);
  if (!models) return error ? <p className="error-text">{error}</p> : <p className="muted">Loading the models…</p>;
  return (
    <>
      <ul className="model-list" data-testid="model-manager">
        {models.map((m) => (
          <ModelRow key={m.id} model={m} download={downloads.get(m.id)} onChanged={refresh} />
        ))}
      </ul>
      <Mirrors />
    </>
  );
}

/**
 * Mirrors: servers (a company's, a folder behind a web server) that hold the same model files by
 * name, tried before PyPI; whatever they send is checked by the same pinned sha256.
 */
function Mirrors() {
  const [text, setText] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.getModelMirrors().then(
      (m) => setText(m.join("\n")),
      () => undefined,
    );
  }, []);
  const save = () => {
    setError(null);
    setSaved(null);
    api.saveModelMirrors(text.split("\n")).then(
      (m) => {
        setText(m.join("\n"));
        setSaved(m.length === 0 ? "No mirror: models come from PyPI." : `Saved: tried before PyPI.`);
      },
      (e) => setError(errorMessage(e)),
    );
  };
  return (
    <div className="model-mirrors">
      <label htmlFor="model-mirrors">
        <strong>Mirrors</strong>{" "}
        <span className="muted small">
          (optional) servers that hold the same model files by name, one address per line, tried before PyPI; what
          they send is checked by the same sha256
        </span>
      </label>
      <textarea
        id="model-mirrors"
        data-testid="model-mirrors"
        rows={2}
        placeholder="https://models.example.org/wheels"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="row">
        <button className="secondary" data-testid="save-model-mirrors" onClick={save}>
          Save mirrors
        </button>
        {saved && (
          <span className="muted small" role="status" data-testid="model-mirrors-saved">
            {saved}
          </span>
        )}
      </div>
      {error && (
        <p className="error-text" data-testid="model-mirrors-error">
          {error}
        </p>
      )}
    </div>
  );
}
