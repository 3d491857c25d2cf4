import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";

// The window's calls, faked: what the Tauri backend would answer.
const askHistory = vi.fn();
vi.mock("./api", async (importOriginal) => ({
  ...(await importOriginal<typeof import("./api")>()),
  api: {
    askHistory: (...args: unknown[]) => askHistory(...args),
    listAsked: () => Promise.resolve([]),
    stopAsk: () => Promise.resolve(),
    deleteAsked: () => Promise.resolve(),
  },
}));

import { AskView } from "./AskView";

afterEach(() => {
  cleanup();
  askHistory.mockReset();
});

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
    // The question leaves the box for the thread at once, and stays shown with its answer.
    expect((screen.getByTestId("ask-input") as HTMLInputElement).value).toBe("");
    expect(screen.getByTestId("ask-question").textContent).toBe("Where did we stay in Porto?");
    await waitFor(() => expect(screen.getByTestId("ask-answer").textContent).toContain("Bonfim"));
    expect(askHistory.mock.calls[0].slice(0, 2)).toEqual(["Where did we stay in Porto?", null]);
    expect(screen.getByTestId("ask-question").textContent).toBe("Where did we stay in Porto?");
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

  it("puts a failed question back in the box, and asked again it still follows the thread", async () => {
    askHistory.mockResolvedValueOnce({ answer: "Bonfim [1]", excerpts: [excerpt] });
    render(<AskView onOpen={() => {}} />);
    ask("Where did we stay in Porto?");
    await waitFor(() => expect(screen.getByTestId("ask-answer").textContent).toContain("Bonfim"));

    askHistory.mockRejectedValueOnce({ code: "llm_unreachable", message: "the model server is not running" });
    ask("How much was it a night?");
    await waitFor(() =>
      expect((screen.getByTestId("ask-input") as HTMLInputElement).value).toBe("How much was it a night?"),
    );
    askHistory.mockResolvedValueOnce({ answer: "120 [1]", excerpts: [excerpt] });
    fireEvent.click(screen.getByTestId("ask-submit"));
    await waitFor(() => expect(askHistory).toHaveBeenCalledTimes(3));
    expect(askHistory.mock.calls[2].slice(0, 2)).toEqual(["How much was it a night?", "Where did we stay in Porto?"]);
    await waitFor(() => expect(screen.getByTestId("ask-answer").textContent).toContain("120"));
  });
});
