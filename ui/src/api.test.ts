import { describe, expect, it } from "vitest";
import { errorDetail, errorMessage } from "./api";

describe("backend errors", () => {
  it("show plain words, with the technical detail kept apart", () => {
    const e = {
      code: "database",
      message: "Hindsight could not read or write its database",
      detail: "database error: disk I/O error",
    };
    expect(errorMessage(e)).toBe("Hindsight could not read or write its database");
    expect(errorDetail(e)).toBe("database error: disk I/O error");
    expect(errorDetail({ code: "not_found", message: "conversation not found: x" })).toBeNull();
    expect(errorDetail("a string error")).toBeNull();
  });
});
