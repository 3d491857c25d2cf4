import { useEffect, useState } from "react";
import { api, errorMessage, type SyncStatus } from "./api";
import { formatDateTime, formatTime } from "./format";

/** The sync status, kept current by the backend's `sync-status` events. */
export function useSyncStatus(): [SyncStatus | null, (s: SyncStatus) => void] {
  const [status, setStatus] = useState<SyncStatus | null>(null);
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let cancelled = false;
    api.onSyncStatus(setStatus).then((u) => {
      if (cancelled) u();
      else unlisten = u;
    });
    api.getSyncStatus().then(
      (s) => !cancelled && setStatus(s),
      () => undefined,
    );
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, []);
  return [status, setStatus];
}

/** The last round, and what last moved each way. */
export function lastRoundText(s: SyncStatus): string {
  if (s.running && !s.last) return "Syncing…";
  if (s.error) return `Sync failed at ${formatTime(s.error_at ?? new Date().toISOString())}: ${s.error}`;
  if (!s.last) return "Not synced yet.";
  const changes = (n: number) => `${n} change${n === 1 ? "" : "s"}`;
  const parts = [`Last synced ${formatDateTime(s.last.at)}.`];
  if (s.last_sent) parts.push(`Sent ${changes(s.last_sent.changes)} at ${formatTime(s.last_sent.at)}.`);
  if (s.last_received)
    parts.push(`Received ${changes(s.last_received.changes)} at ${formatTime(s.last_received.at)}.`);
  return parts.join(" ");
}

/** Settings → Sync: the folder, this device's name, the status of every device. */
export function SyncSection() {
  const [status, setStatus] = useSyncStatus();
  const [folder, setFolder] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    if (status && !loaded) {
      setFolder(status.settings.folder ?? "");
      setName(status.settings.device_name);
      setLoaded(true);
    }
  }, [status, loaded]);

  const run = (f: () => Promise<SyncStatus>) => {
    setError(null);
    setBusy(true);
    f().then(
      (s) => {
        setStatus(s);
        setFolder(s.settings.folder ?? "");
        setName(s.settings.device_name);
        setBusy(false);
      },
      (e) => {
        setError(errorMessage(e));
        setBusy(false);
      },
    );
  };
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    run(() => api.saveSyncSettings({ folder: folder.trim() || null, device_name: name }));
  };
  const choose = () => {
    api.chooseSyncFolder().then(
      (f) => f && setFolder(f),
      (e) => setError(errorMessage(e)),
    );
  };
  const turnOff = () => run(() => api.saveSyncSettings({ folder: null, device_name: name }));

  // The form shows once it holds the saved values (typing earlier would be overwritten).
  if (!status || !loaded) return <p className="muted">Loading…</p>;
  const on = status.settings.folder !== null;
  return (
    <div className="sync-settings" data-testid="sync-settings">
      <p className="muted small">
        Keep your history on every computer: choose a folder that Syncthing, Nextcloud, Dropbox, iCloud Drive or
        OneDrive already keeps in step. Each computer writes only its own files there and merges the others'
        changes; nothing is overwritten.
      </p>
      <form className="sync-form" onSubmit={save}>
        <label htmlFor="sync-folder">Sync folder</label>
        <div className="row">
          <input
            id="sync-folder"
            data-testid="sync-folder"
            value={folder}
            placeholder="/home/you/Sync/Hindsight"
            onChange={(e) => setFolder(e.target.value)}
          />
          <button type="button" className="secondary" onClick={choose} data-testid="sync-choose">
            Choose…
          </button>
        </div>
        <label htmlFor="sync-name">This computer's name</label>
        <input
          id="sync-name"
          data-testid="sync-name"
          value={name}
          placeholder={status.default_name}
          maxLength={60}
          onChange={(e) => setName(e.target.value)}
        />
        <div className="row">
          <button type="submit" disabled={busy} data-testid="sync-save">
            {on ? "Save" : "Turn on sync"}
          </button>
          {on && (
            <>
              <button
                type="button"
                className="secondary"
                disabled={busy || status.running}
                onClick={() => run(api.syncNow)}
                data-testid="sync-now"
              >
                Sync now
              </button>
              <button type="button" className="secondary" disabled={busy} onClick={turnOff} data-testid="sync-off">
                Turn off
              </button>
            </>
          )}
        </div>
      </form>
      {on && <Passphrase status={status} run={run} busy={busy} />}
      {error && (
        <p className="error-text" role="alert" data-testid="sync-error">
          {error}
        </p>
      )}
      {on && (
        <div className="sync-status" role="status" data-testid="sync-status">
          <p className={status.error ? "error-text" : "muted"}>{lastRoundText(status)}</p>
          {status.unpublished > 0 && status.last && (
            <p className="muted small">
              {status.unpublished} change{status.unpublished === 1 ? "" : "s"} not sent yet (an answer still being
              written).
            </p>
          )}
          {status.peers.length === 0 ? (
            <p className="muted small">No other computer has synced into this folder yet.</p>
          ) : (
            <ul className="sync-peers" data-testid="sync-peers">
              {status.peers.map((p) => (
                <li key={p.device} data-testid="sync-peer">
                  <strong>{p.name || "Unnamed computer"}</strong>{" "}
                  {p.problem ? (
                    <span className="error-text">{p.problem}</span>
                  ) : (
                    <span className="muted">up to date</span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

/** End-to-end encryption: a passphrase, the same on every computer, that the folder never sees. */
function Passphrase({
  status,
  run,
  busy,
}: {
  status: SyncStatus;
  run: (f: () => Promise<SyncStatus>) => void;
  busy: boolean;
}) {
  const [text, setText] = useState("");
  const set = (e: React.FormEvent) => {
    e.preventDefault();
    run(() => api.saveSyncPassphrase(text));
    setText("");
  };
  return (
    <form className="sync-form" onSubmit={set} data-testid="sync-passphrase-form">
      <label htmlFor="sync-passphrase">
        Encryption{" "}
        <span className="muted small" data-testid="sync-encryption">
          {status.encrypted
            ? "on: this computer's changes are encrypted in the folder"
            : "off: the folder holds your history as readable text"}
        </span>
      </label>
      <div className="row">
        <input
          id="sync-passphrase"
          data-testid="sync-passphrase"
          type="password"
          autoComplete="new-password"
          value={text}
          placeholder={status.encrypted ? "A new passphrase" : "A passphrase, the same on every computer"}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="secondary" disabled={busy || text.length === 0} data-testid="sync-passphrase-set">
          {status.encrypted ? "Change" : "Encrypt"}
        </button>
        {status.encrypted && (
          <button
            type="button"
            className="secondary"
            disabled={busy}
            onClick={() => run(() => api.saveSyncPassphrase(null))}
            data-testid="sync-passphrase-remove"
          >
            Stop encrypting
          </button>
        )}
      </div>
    </form>
  );
}

/** The sidebar's sync line (only while sync is on): when it last went through, or that it failed. */
export function SyncBadge({ onOpenSettings }: { onOpenSettings: () => void }) {
  const [status] = useSyncStatus();
  if (!status || status.settings.folder === null) return null;
  const problem = status.error !== null || status.peers.some((p) => p.problem !== null);
  const text = status.error
    ? "Sync failed: see Settings"
    : status.last
      ? `Synced ${formatTime(status.last.at)}`
      : "Sync on";
  return (
    <button
      type="button"
      className={`sync-badge link-button${problem ? " warn" : ""}`}
      data-testid="sync-badge"
      title={lastRoundText(status)}
      onClick={onOpenSettings}
    >
      {text}
      {problem && !status.error ? " (a device needs attention)" : ""}
    </button>
  );
}
