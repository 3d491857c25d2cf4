import { api } from "./api";
import { useTask } from "./useTask";

/**
 * Shown when the start-up check found the database damaged. Hindsight has stopped writing (so
 * nothing gets worse); the way out is to export what can be read and restore the newest backup.
 */
export function DamagedBanner({ problems, onRestored }: { problems: string[]; onRestored: (report: string) => void }) {
  const { busy, result, run: act } = useTask();
  return (
    <div className="banner error damaged" role="alert" data-testid="damaged">
      <strong>Your history database is damaged.</strong> Hindsight has stopped writing to it, so nothing gets
      worse; you can still read and search. Export what can be read, then restore the newest backup (the
      damaged file is kept).
      <details>
        <summary>What the check found ({problems.length})</summary>
        <ul>
          {problems.slice(0, 20).map((p, i) => (
            <li key={i}>
              <code>{p}</code>
            </li>
          ))}
        </ul>
      </details>
      <div className="row">
        <button
          className="secondary"
          disabled={busy}
          onClick={() =>
            act(async () => {
              const done = await api.exportHistory("json");
              return done && `Exported ${done.count} conversations to ${done.path}.`;
            })
          }
        >
          Export as JSON…
        </button>
        <button
          data-testid="restore-backup"
          disabled={busy}
          onClick={() =>
            act(async () => {
              const r = await api.restoreBackup();
              // The banner goes away with the damage: the report is shown by the app.
              onRestored(`Restored ${r.restored}. The damaged history is kept in ${r.previous_saved_to}.`);
              return null;
            })
          }
        >
          Restore the newest backup
        </button>
      </div>
      {result && (
        <p className={result.ok ? "" : "error-text"} data-testid="damaged-result">
          {result.text}
        </p>
      )}
    </div>
  );
}
