import { describe, expect, it } from "vitest";
import { progressLine } from "./AnalyseAll";

const none = { pending: 0, running: 0, failed: 0, analysed: 0, not_queued: 0, paused: false };

describe("progressLine", () => {
  it("says what is left while the queue works, and when it is paused", () => {
    expect(progressLine({ ...none, pending: 11, running: 1, analysed: 3 })).toBe("Analysing your history: 12 conversations left…");
    expect(progressLine({ ...none, pending: 1, paused: true })).toBe("Analysis paused: 1 conversation left.");
  });
  it("offers what is not analysed, failures included, and nothing once all is done", () => {
    expect(progressLine({ ...none, not_queued: 1 })).toBe("1 conversation has no insights yet.");
    expect(progressLine({ ...none, not_queued: 5, failed: 2 })).toBe("5 conversations have no insights yet (2 failed before).");
    expect(progressLine({ ...none, analysed: 9 })).toBe("");
  });
});
