import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";

// The window's calls, faked: what the Tauri backend would answer.
const askHistory = vi.fn();
vi.mock("./api", () => ({
  api: {
    askHistory: (...args: unknown[]) => askHistory(...args),
    listAsked: () => Promise.resolve([]),
    stopAsk: () => Promise.resolve(),
    deleteAsked: () => Promise.resolve(),
  },
}));

import { AskView } from "./AskView";

afterEach(cleanup);

const excerpt = {
  conversation_id: "c1",
  message_id: "m1",
  message: "Let's book Bonfim.",
  similarity: 0.6,
  title: "Long weekend in Porto",
  timestamp: "2026-04-02T10:00:00Z",
  previous: null,
};

function ask(text: string) {
  fireEvent.change(screen.getByTestId("ask-input"), { target: { value: text } });
  fireEvent.click(screen.getByTestId("ask-submit"));
}

describe("AskView", () => {
  it("asks a follow-up with the question before it, and New question starts afresh", async () => {
    askHistory.mockResolvedValue({ answer: "Bonfim [1]", excerpts: [excerpt] });
    render(<AskView onOpen={() => {}} />);

    ask("Where did we stay in Porto?");
    await waitFor(() => expect(screen.getByTestId("ask-answer").textContent).toContain("Bonfim"));
    expect(askHistory.mock.calls[0].slice(0, 2)).toEqual(["Where did we stay in Porto?", null]);
    expect(screen.getByTestId("ask-cite").getAttribute("aria-label")).toBe("Source 1: Long weekend in Porto");

    ask("Why there?");
    await waitFor(() => expect(askHistory).toHaveBeenCalledTimes(2));
    expect(askHistory.mock.calls[1].slice(0, 2)).toEqual(["Why there?", "Where did we stay in Porto?"]);
    await waitFor(() => expect(screen.getByTestId("ask-thread").textContent).toContain("Where did we stay in Porto?"));
    expect(screen.getByTestId("ask-question").textContent).toBe("Why there?");

    fireEvent.click(await screen.findByTestId("ask-new-thread"));
    expect(screen.queryByTestId("ask-thread")).toBeNull();
    expect(screen.queryByTestId("ask-answer")).toBeNull();
    ask("What did I cook?");
    await waitFor(() => expect(askHistory).toHaveBeenCalledTimes(3));
    expect(askHistory.mock.calls[2].slice(0, 2)).toEqual(["What did I cook?", null]);
  });
});
