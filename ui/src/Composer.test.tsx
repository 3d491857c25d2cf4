import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";

// The window's calls, faked: a model is available.
vi.mock("./api", () => ({
  errorMessage: (e: unknown) => String(e),
  api: {
    llmStatus: () => Promise.resolve({ available: true }),
  },
}));

import { Composer } from "./Composer";

afterEach(cleanup);

describe("Composer", () => {
  it("takes the keyboard as it appears when asked (a chat just created)", () => {
    render(<Composer conversationId="c1" autoFocus onMessages={() => {}} onDone={() => {}} />);
    expect(document.activeElement).toBe(screen.getByTestId("composer"));
  });

  it("leaves the keyboard where it is otherwise (opening an older chat)", () => {
    render(<Composer conversationId="c1" onMessages={() => {}} onDone={() => {}} />);
    expect(document.activeElement).not.toBe(screen.getByTestId("composer"));
    expect(document.activeElement).toBe(document.body);
  });
});
