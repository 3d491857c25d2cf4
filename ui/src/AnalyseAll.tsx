import { useCallback, useEffect, useState } from "react";
import { api, type AnalysisProgress } from "./api";
import { ErrorLine, shownError, type Shown } from "./ErrorLine";

/** "3 of 12 analysed" while the queue works; what is left, with Analyse all, otherwise. */
export function progressLine(p: AnalysisProgress): string {
  const queued = p.pending + p.running;
  if (queued > 0) {
    const left = `${queued} conversation${queued === 1 ? "" : "s"} left`;
    return p.paused ? `Analysis paused: ${left}.` : `Analysing your history: ${left}…`;
  }
  if (p.not_queued > 0) {
    const failed = p.failed > 0 ? ` (${p.failed} failed before)` : "";
    return `${p.not_queued} conversation${p.not_queued === 1 ? " has" : "s have"} no insights yet${failed}.`;
  }
  return "";
}

/**
 * The history's analysis at a glance: how many conversations wait for insights, "Analyse all"
 * (newest first), and Pause / Resume while the queue works. Refreshed by every status change;
 * `onChange` hears when an analysis finished (the charts can reload).
 */
export function AnalyseAll({ onChange }: { onChange?: () => void }) {
  const [progress, setProgress] = useState<AnalysisProgress | null>(null);
  const [error, setError] = useState<Shown | null>(null);
  const load = useCallback(
    () => api.analysisProgress().then(setProgress, (e) => setError(shownError(e))),
    [],
  );
  useEffect(() => {
    void load();
    const off = api.onAnalysisStatus((s) => {
      void load();
      if (s.state === "done") onChange?.();
    });
    return () => void off.then((f) => f());
  }, [load, onChange]);
  const act = (call: Promise<unknown>) =>
    call.then(
      () => {
        setError(null);
        return load();
      },
      (e) => setError(shownError(e)),
    );
  if (error) return <ErrorLine error={error} onRetry={() => void load().then(() => setError(null))} />;
  if (!progress) return null;
  const line = progressLine(progress);
  if (!line) return null;
  const working = progress.pending + progress.running > 0;
  return (
    <div className="analyse-all" role="status" data-testid="analysis-progress">
      <span>{line}</span>
      {!working && (
        <button className="secondary" data-testid="analyse-all" onClick={() => act(api.analyseAll())}>
          Analyse all
        </button>
      )}
      {working && (
        <button
          className="secondary"
          data-testid="pause-analysis"
          onClick={() => act(api.pauseAnalysis(!progress.paused))}
        >
          {progress.paused ? "Resume" : "Pause"}
        </button>
      )}
    </div>
  );
}
