import { describe, expect, it } from "vitest";
import { plainText } from "./plainText";

describe("plainText", () => {
  it("drops markdown syntax and keeps the words", () => {
    expect(plainText("Stay in **Baixa**, near the [trams](https://x.y).\n\n- one\n- two")).toBe(
      "Stay in Baixa, near the trams. one two",
    );
    expect(plainText("```rust\nfn main() {}\n```")).toBe("fn main() {}");
  });

  it("keeps raw HTML as the text it is", () => {
    expect(plainText('<img src=x onerror="alert(1)"> zebrafish')).toContain("<img src=x");
  });
});
