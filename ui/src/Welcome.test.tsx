import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ModelEntry } from "./api";

// The window's calls, faked: what the Tauri backend would answer.
let catalog: ModelEntry[] = [];
const downloaded: string[] = [];
vi.mock("./api", () => ({
  errorMessage: (e: unknown) => String(e),
  api: {
    detectServers: () => Promise.resolve([]),
    builtinModels: () => Promise.resolve([]),
    modelCatalog: () => Promise.resolve(catalog),
    downloadModel: (model: string) => {
      downloaded.push(model);
      catalog = catalog.map((m) => (m.id === model ? { ...m, installed: true } : m));
      return Promise.resolve();
    },
  },
}));

import { serverLabel, Welcome } from "./Welcome";

afterEach(cleanup);

const entry = (id: ModelEntry["id"], name: string, download_bytes: number): ModelEntry => ({
  id,
  label: id,
  name,
  bytes: download_bytes,
  download_bytes,
  ram_bytes: 2 ** 30,
  speed: "",
  licence: "Apache-2.0",
  source: "PyPI",
  note: "",
  installed: false,
  paused_bytes: 0,
});

describe("serverLabel", () => {
  it("names the server and what it has loaded", () => {
    const s = { name: "LM Studio", base_url: "http://127.0.0.1:1234/v1" };
    expect(serverLabel({ ...s, models: [] })).toBe("LM Studio (no model loaded)");
    expect(serverLabel({ ...s, models: ["qwen2.5-7b"] })).toBe("LM Studio (qwen2.5-7b)");
    expect(serverLabel({ ...s, models: ["a", "b", "c"] })).toBe("LM Studio (3 models)");
  });
});

describe("the first-run download", () => {
  it("offers the embedding and Small models in one click, then gets out of the way", async () => {
    catalog = [
      entry("embedding", "all-MiniLM-L6-v2", 83.5e6),
      entry("tiny", "SmolLM2-135M-Instruct", 92.9e6),
      entry("small", "Qwen2.5-Coder-0.5B-Instruct", 477.6e6),
    ];
    render(<Welcome onImported={() => {}} onNewChat={() => {}} onOpenSettings={() => {}} />);
    const offer = await screen.findByTestId("first-run-download");
    expect(offer.textContent).toContain("all-MiniLM-L6-v2 and Qwen2.5-Coder-0.5B-Instruct");
    expect(screen.getByTestId("first-run-download-button").textContent).toBe("Download the models (561 MB)");
    fireEvent.click(screen.getByTestId("first-run-download-button"));
    await waitFor(() => expect(screen.queryByTestId("first-run-download")).toBeNull());
    expect(downloaded).toEqual(["embedding", "small"]);
  });
});
