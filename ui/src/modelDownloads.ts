// Model downloads live here, outside any view: one started in Welcome or Settings keeps running
// (and keeps reporting) while the person goes elsewhere, and every view shows the same progress.
import { useSyncExternalStore } from "react";
import { api, errorCode, errorMessage, type ModelId, type ModelProgress } from "./api";

export type DownloadState = {
  /** The last progress report (null before the first). */
  progress: ModelProgress | null;
  running: boolean;
  /** Stopped by Pause: what arrived is kept, Download continues from there. */
  paused: boolean;
  error: string | null;
};

const IDLE: DownloadState = { progress: null, running: false, paused: false, error: null };
let states: ReadonlyMap<ModelId, DownloadState> = new Map();
/** Bumped each time a download ends (installed, paused or failed): the catalog is stale. */
let ended = 0;
const listeners = new Set<() => void>();

function update(model: ModelId, patch: Partial<DownloadState>) {
  const next = new Map(states);
  next.set(model, { ...(states.get(model) ?? IDLE), ...patch });
  states = next;
  listeners.forEach((l) => l());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Downloads `model` (continuing a paused download); resolves true once it is installed. */
export function startDownload(model: ModelId): Promise<boolean> {
  return run(model, false, (onProgress) => api.downloadModel(model, onProgress).then(() => true));
}

/**
 * Installs the chat model `model` from a GGUF the person picks in the native dialog (the
 * catalog's file, checked by size and sha256 while it is copied in); resolves true once it is
 * installed, false if the dialog was cancelled or the file refused (the error says why).
 */
export function startFromFile(model: ModelId): Promise<boolean> {
  return run(model, true, (onProgress) => api.installModelFile(model, onProgress));
}

function run(
  model: ModelId,
  fromFile: boolean,
  install: (onProgress: (p: ModelProgress) => void) => Promise<boolean>,
): Promise<boolean> {
  if (states.get(model)?.running) return Promise.resolve(false);
  update(model, { running: true, paused: false, error: null, progress: null });
  return install((p) => update(model, { progress: p })).then(
    (installed) => {
      ended += 1;
      update(model, { running: false });
      return installed;
    },
    (e: unknown) => {
      const cancelled = errorCode(e) === "cancelled";
      // Pausing a download keeps what arrived; stopping a copy keeps nothing.
      const paused = cancelled && !fromFile;
      ended += 1;
      update(model, { running: false, paused, error: cancelled ? null : errorMessage(e) });
      return false;
    },
  );
}

export function pauseDownload(model: ModelId): void {
  api.pauseDownload(model).catch(() => undefined);
}

/** Forgets what the UI knew of `model`'s download (after Cancel or Remove). */
export function clearDownload(model: ModelId): void {
  update(model, IDLE);
}

/** Every model's download state (models never downloaded are absent). */
export function useDownloads(): ReadonlyMap<ModelId, DownloadState> {
  return useSyncExternalStore(subscribe, () => states);
}

/** A number that changes whenever a download ends: a dependency for reloading the catalog. */
export function useDownloadsEnded(): number {
  return useSyncExternalStore(subscribe, () => ended);
}

/** "312 of 478 MB · 9.6 MB/s · part 4 of 6". */
export function progressText(p: ModelProgress): string {
  const mb = (n: number) => (n / 1e6).toFixed(0);
  if (p.phase === "verifying") return "Checking the download…";
  if (p.phase === "copying") return `Copying and checking the file: ${mb(p.done_bytes)} of ${mb(p.total_bytes)} MB`;
  if (p.phase === "installed") return "Installed";
  const parts = [`${mb(p.done_bytes)} of ${mb(p.total_bytes)} MB`];
  if (p.bytes_per_sec > 0) parts.push(`${(p.bytes_per_sec / 1e6).toFixed(1)} MB/s`);
  if (p.parts > 1) parts.push(`part ${p.part} of ${p.parts}`);
  return parts.join(" · ");
}
