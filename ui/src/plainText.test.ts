import { describe, expect, it } from "vitest";
import { plainText } from "./plainText";

describe("plainText", () => {
  it("drops markdown syntax and keeps the words", () => {
    expect(plainText("Stay in **Baixa**, near the [trams](https://x.y).\n\n- one\n- two")).toBe(
      "Stay in Baixa, near the trams. one two",
    );
    expect(plainText("```rust\nfn main() {}\n```")).toBe("fn main() {}");
  });

  it("reads a table row by row, without its pipes and dashes", () => {
    const table = [
      "Side by side:",
      "",
      "| | Cost a month | Pool |",
      "|---|---|---|",
      "| YMCA | $79 | yes, plus a track |",
      "| GoodLife | $55 | ~~no~~ |",
      "",
      "I'd start with the community centre.",
    ].join("\n");
    expect(plainText(table)).toBe(
      "Side by side: Cost a month, Pool; YMCA, $79, yes, plus a track; GoodLife, $55, no. I'd start with the community centre.",
    );
    // An excerpt clipped inside a table keeps the rows it has.
    expect(plainText("| A | B |\n|---|---|\n| 1 | 2 |\n| 3")).toBe("A, B; 1, 2; 3.");
  });

  it("keeps raw HTML as the text it is", () => {
    expect(plainText('<img src=x onerror="alert(1)"> zebrafish')).toContain("<img src=x");
  });
});
