import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { SyncStatus } from "./api";

// The window's calls, faked: what the Tauri backend would answer.
const off: SyncStatus = {
  settings: { folder: null, device_name: "" },
  default_name: "desk-pc",
  device: null,
  running: false,
  last: null,
  error: null,
  error_at: null,
  last_sent: null,
  last_received: null,
  peers: [],
  encrypted: false,
  unpublished: 0,
};
let status: SyncStatus = off;
const saveSyncSettings = vi.fn((s: SyncStatus["settings"]) => {
  if (s.folder === "/nowhere") return Promise.reject({ code: "invalid_input", message: "the sync folder /nowhere does not exist" });
  status = { ...status, settings: s };
  return Promise.resolve(status);
});
const saveSyncPassphrase = vi.fn((p: string | null) => {
  if (p !== null && p.length < 8) return Promise.reject({ message: "a sync passphrase has at least 8 characters" });
  status = { ...status, encrypted: p !== null };
  return Promise.resolve(status);
});
vi.mock("./api", () => ({
  errorMessage: (e: unknown) => (e as { message: string }).message,
  api: {
    getSyncStatus: () => Promise.resolve(status),
    onSyncStatus: () => Promise.resolve(() => undefined),
    saveSyncSettings: (s: SyncStatus["settings"]) => saveSyncSettings(s),
    saveSyncPassphrase: (p: string | null) => saveSyncPassphrase(p),
    syncNow: () => Promise.resolve(status),
    chooseSyncFolder: () => Promise.resolve(null),
  },
}));

import { lastRoundText, SyncBadge, SyncSection } from "./SyncPanel";

afterEach(() => {
  cleanup();
  status = off;
});

const at = "2026-11-30T10:15:00Z";
const report = {
  folder: "/sync",
  device: "d1",
  name: "Desk",
  sent: 0,
  segments_written: 0,
  received: 0,
  superseded: 0,
  refused: 0,
  waiting: 0,
  unpublished: 0,
  peers: [],
  new_device: null,
  compacted: null,
  at,
};

describe("lastRoundText", () => {
  it("says when it last synced and what last moved each way, not just the last round", () => {
    const s: SyncStatus = {
      ...off,
      settings: { folder: "/sync", device_name: "Desk" },
      last: report,
      last_sent: { changes: 12, at },
      last_received: { changes: 1, at },
    };
    const text = lastRoundText(s);
    expect(text).toMatch(/^Last synced .*\. Sent 12 changes at .*\. Received 1 change at .*\.$/);
  });
  it("puts a failure first, in its own words", () => {
    const s: SyncStatus = { ...off, last: report, error: "the sync folder /x does not exist", error_at: at };
    expect(lastRoundText(s)).toMatch(/^Sync failed at .*: the sync folder \/x does not exist$/);
  });
});

describe("SyncSection", () => {
  it("turns sync on with a folder, shows a refusal in words, then sets a passphrase", async () => {
    render(<SyncSection />);
    const folder = await screen.findByTestId("sync-folder");
    expect(screen.getByTestId("sync-name").getAttribute("placeholder")).toBe("desk-pc");
    expect(screen.queryByTestId("sync-status")).toBeNull();
    fireEvent.change(folder, { target: { value: "/nowhere" } });
    fireEvent.click(screen.getByTestId("sync-save"));
    expect((await screen.findByTestId("sync-error")).textContent).toContain("does not exist");
    fireEvent.change(folder, { target: { value: "/home/me/Sync" } });
    fireEvent.change(screen.getByTestId("sync-name"), { target: { value: "Desk" } });
    fireEvent.click(screen.getByTestId("sync-save"));
    await screen.findByTestId("sync-status");
    expect(saveSyncSettings).toHaveBeenLastCalledWith({ folder: "/home/me/Sync", device_name: "Desk" });
    expect(screen.getByTestId("sync-status").textContent).toContain("No other computer");
    expect(screen.getByTestId("sync-encryption").textContent).toContain("off");
    fireEvent.change(screen.getByTestId("sync-passphrase"), { target: { value: "short" } });
    fireEvent.click(screen.getByTestId("sync-passphrase-set"));
    expect((await screen.findByTestId("sync-error")).textContent).toContain("at least 8");
    fireEvent.change(screen.getByTestId("sync-passphrase"), { target: { value: "correct horse" } });
    fireEvent.click(screen.getByTestId("sync-passphrase-set"));
    await waitFor(() => expect(screen.getByTestId("sync-encryption").textContent).toContain("on:"));
    expect((screen.getByTestId("sync-passphrase") as HTMLInputElement).value).toBe("");
  });

  it("lists each other computer with its state", async () => {
    status = {
      ...off,
      settings: { folder: "/sync", device_name: "Desk" },
      last: report,
      peers: [
        { device: "a", name: "Laptop", applied: 3, seen_at: at, problem: null },
        { device: "b", name: "Tablet", applied: 1, seen_at: at, problem: "segment 2 is still arriving" },
      ],
    };
    render(<SyncSection />);
    const peers = await screen.findAllByTestId("sync-peer");
    expect(peers.map((p) => p.textContent)).toEqual(["Laptop up to date", "Tablet segment 2 is still arriving"]);
  });
});

describe("SyncBadge", () => {
  it("is silent while sync is off and says when a device needs attention", async () => {
    const { unmount } = render(<SyncBadge onOpenSettings={() => undefined} />);
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByTestId("sync-badge")).toBeNull();
    unmount();
    status = {
      ...off,
      settings: { folder: "/sync", device_name: "" },
      last: report,
      peers: [{ device: "b", name: "Tablet", applied: 1, seen_at: at, problem: "segment 2 is still arriving" }],
    };
    const open = vi.fn();
    render(<SyncBadge onOpenSettings={open} />);
    const badge = await screen.findByTestId("sync-badge");
    expect(badge.textContent).toMatch(/^Synced .* \(a device needs attention\)$/);
    fireEvent.click(badge);
    expect(open).toHaveBeenCalled();
  });
});
