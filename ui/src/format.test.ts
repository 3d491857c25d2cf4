import { describe, expect, it } from "vitest";
import { dateGroup } from "./format";
import { withDateGroups } from "./ConversationList";
import type { Conversation } from "./api";

const now = new Date(2026, 2, 18, 15, 0); // 18 March 2026, 15:00 local

describe("date groups", () => {
  it("names today, yesterday, the last week and month, then months", () => {
    const at = (d: number, h = 9) => new Date(2026, 2, d, h).toISOString();
    expect(dateGroup(at(18, 1), now)).toBe("Today");
    expect(dateGroup(at(17, 23), now)).toBe("Yesterday");
    expect(dateGroup(at(12), now)).toBe("Previous 7 days");
    expect(dateGroup(at(1), now)).toBe("Previous 30 days");
    expect(dateGroup(new Date(2026, 0, 5).toISOString(), now)).toMatch(/January.*2026|2026.*January/);
  });

  it("puts a heading before each group of the (newest first) list", () => {
    const c = (id: string, d: Date) => ({ id, start_time: d.toISOString() }) as Conversation;
    const rows = withDateGroups(
      [c("a", new Date(2026, 2, 18, 10)), c("b", new Date(2026, 2, 18, 8)), c("c", new Date(2026, 2, 17, 8))],
      now,
    );
    expect(rows.map((r) => (r.kind === "group" ? r.label : r.c.id))).toEqual(["Today", "a", "b", "Yesterday", "c"]);
  });
});
