import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render } from "@testing-library/react";
import { SearchResults } from "./SearchResults";
import type { SearchHit } from "./api";

afterEach(cleanup);

function hit(id: string, conversation: string, content: string, previous: string | null = null): SearchHit {
  return {
    message_id: id,
    conversation_id: conversation,
    conversation_title: `Title ${conversation}`,
    sender: "user",
    timestamp: "2025-06-03T19:10:00Z",
    content,
    similarity: 0.5,
    score: 1,
    previous: previous === null ? null : {
      message_id: `${id}-prev`,
      sender: "ai",
      timestamp: "2025-06-03T19:09:00Z",
      content: previous,
    },
  };
}

describe("SearchResults", () => {
  it("groups every hit of a conversation under one heading, in rank order", () => {
    const hits = [hit("1", "a", "first"), hit("2", "b", "second"), hit("3", "a", "third")];
    const { container } = render(<SearchResults hits={hits} query="x" onOpen={() => {}} />);
    const groups = Array.from(container.querySelectorAll(".search-group"));
    expect(groups.map((g) => g.querySelector(".search-group-title")?.textContent)).toEqual(["Title a", "Title b"]);
    expect(groups[0].querySelectorAll("[data-testid=search-hit]")).toHaveLength(2);
  });

  it("shows a short reply under the turn it answers, and a long one alone", () => {
    const hits = [
      hit("1", "a", "yes, book that one", "The flat in Bonfim is €95 a night"),
      hit("2", "b", "x".repeat(200), "a question"),
    ];
    const { container } = render(<SearchResults hits={hits} query="bonfim" onOpen={() => {}} />);
    const contexts = container.querySelectorAll("[data-testid=search-hit-context]");
    expect(contexts).toHaveLength(1);
    expect(contexts[0].textContent).toContain("Assistant: The flat in Bonfim");
    expect(contexts[0].querySelector("mark")?.textContent).toBe("Bonfim");
  });

  it("says which time range it read", () => {
    const { getByTestId } = render(
      <SearchResults
        hits={[hit("1", "a", "x")]}
        timeRange={{ from: "2025-06-01T00:00:00.000Z", to: "2025-09-01T00:00:00.000Z", phrase: "last summer" }}
        query="last summer"
        onOpen={() => {}}
      />,
    );
    const text = getByTestId("search-time-range").textContent ?? "";
    expect(text).toContain("last summer");
    expect(text).toMatch(/1 Jun.*2025.*31 Aug.*2025|Jun 1.*2025.*Aug 31.*2025/);
  });
});
