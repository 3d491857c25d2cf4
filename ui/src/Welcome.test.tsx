import { describe, expect, it } from "vitest";
import { serverLabel } from "./Welcome";

describe("serverLabel", () => {
  it("names the server and what it has loaded", () => {
    const s = { name: "LM Studio", base_url: "http://127.0.0.1:1234/v1" };
    expect(serverLabel({ ...s, models: [] })).toBe("LM Studio (no model loaded)");
    expect(serverLabel({ ...s, models: ["qwen2.5-7b"] })).toBe("LM Studio (qwen2.5-7b)");
    expect(serverLabel({ ...s, models: ["a", "b", "c"] })).toBe("LM Studio (3 models)");
  });
});
