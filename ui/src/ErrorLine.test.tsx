import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render } from "@testing-library/react";
import { ErrorLine, shownError } from "./ErrorLine";

afterEach(cleanup);

describe("ErrorLine", () => {
  it("shows the first line, Retry, and the rest under Details", () => {
    const e = { code: "llm_unavailable", message: "The LLM server did not answer.\nIt may still be loading.", detail: "connect ECONNREFUSED 127.0.0.1:8080" };
    const shown = shownError(e);
    expect(shown.message).toBe("The LLM server did not answer.");
    expect(shown.detail).toBe("It may still be loading.\n\nconnect ECONNREFUSED 127.0.0.1:8080");
    const retry = vi.fn();
    const { getByRole, getByText, container } = render(<ErrorLine error={shown} onRetry={retry} />);
    expect(getByRole("alert").querySelector(".error-text")?.textContent).toBe("The LLM server did not answer.");
    fireEvent.click(getByText("Retry"));
    expect(retry).toHaveBeenCalledTimes(1);
    const details = container.querySelector("details");
    expect(details?.open).toBe(false);
    expect(details?.querySelector("code")?.textContent).toContain("ECONNREFUSED");
  });

  it("has no Retry for what cannot be retried and no Details when there are none", () => {
    const { container } = render(<ErrorLine error={shownError(new Error("x"))} />);
    expect(container.querySelector("button")).toBeNull();
    expect(container.querySelector("details")).toBeNull();
    expect(shownError("").message).toBe("Something went wrong.");
  });
});
