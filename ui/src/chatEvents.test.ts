import { describe, expect, it } from "vitest";
import type { Message } from "./api";
import { chatEventApplier, withLiveAnswers } from "./chatEvents";

const msg = (id: string, sender: "user" | "ai", content: string, state: Message["state"] = "complete"): Message => ({
  id,
  conversation_id: "c",
  content,
  sender,
  timestamp: "2026-01-01T00:00:00Z",
  state,
  error: null,
  reactions: [],
  is_bookmarked: false,
  earlier_versions: 0,
});

describe("chatEventApplier", () => {
  it("adds the question and answer, streams tokens, then stores the final answer", () => {
    let list: Message[] = [msg("old", "user", "earlier")];
    const apply = chatEventApplier((f) => (list = f(list)));
    apply({ event: "started", data: { user: msg("u", "user", "hi"), ai: msg("a", "ai", "", "streaming") } });
    apply({ event: "token", data: "Hel" });
    apply({ event: "token", data: "lo" });
    expect(list.map((m) => m.content)).toEqual(["earlier", "hi", "Hello"]);
    apply({ event: "done", data: msg("a", "ai", "Hello!") });
    expect(list.map((m) => [m.id, m.content, m.state])).toEqual([
      ["old", "earlier", "complete"],
      ["u", "hi", "complete"],
      ["a", "Hello!", "complete"],
    ]);
  });

  it("rewrites the answer in place when regenerating", () => {
    let list: Message[] = [msg("u", "user", "hi"), msg("a", "ai", "first")];
    const apply = chatEventApplier((f) => (list = f(list)));
    apply({ event: "started", data: { user: null, ai: msg("a", "ai", "", "streaming") } });
    apply({ event: "token", data: "second" });
    expect(list.map((m) => m.content)).toEqual(["hi", "second"]);
  });
});

describe("withLiveAnswers", () => {
  it("takes the stored messages but keeps an answer streaming on screen", () => {
    const shown = [msg("u", "user", "hi"), msg("a", "ai", "Hello th", "streaming")];
    const stored = [msg("u", "user", "hi"), msg("a", "ai", "Hel", "streaming"), msg("x", "user", "from the laptop")];
    expect(withLiveAnswers(shown, stored).map((m) => [m.id, m.content])).toEqual([
      ["u", "hi"],
      ["a", "Hello th"],
      ["x", "from the laptop"],
    ]);
    // Not yet in what was read: still shown.
    expect(withLiveAnswers(shown, [msg("u", "user", "hi")]).map((m) => m.id)).toEqual(["u", "a"]);
    // Nothing streaming: the store's messages as they are.
    const done = [msg("u", "user", "hi"), msg("a", "ai", "Hello!")];
    expect(withLiveAnswers(done, stored)).toBe(stored);
  });
});
