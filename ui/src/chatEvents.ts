import type { ChatEvent, Message } from "./api";

/**
 * Applies a chat stream's events to a message list: `started` adds the stored question and
 * the empty answer (or replaces the answer being regenerated), `token` appends to the answer,
 * `done` puts the stored answer in its place.
 */
export function chatEventApplier(onMessages: (update: (ms: Message[]) => Message[]) => void) {
  let aiId: string | null = null;
  const upsert = (ms: Message[], m: Message) =>
    ms.some((x) => x.id === m.id) ? ms.map((x) => (x.id === m.id ? m : x)) : [...ms, m];
  return (e: ChatEvent) => {
    if (e.event === "started") {
      const ai = e.data.ai;
      const user = e.data.user;
      aiId = ai.id;
      onMessages((ms) => upsert(user ? upsert(ms, user) : ms, ai));
    } else if (e.event === "token") {
      const piece = e.data;
      onMessages((ms) => ms.map((m) => (m.id === aiId ? { ...m, content: m.content + piece } : m)));
    } else {
      const stored = e.data;
      onMessages((ms) => upsert(ms, stored));
    }
  };
}

/**
 * The stored messages, read again (another computer's changes arrived), with the answers
 * streaming on screen kept as shown: the store holds less of an answer until it is done.
 */
export function withLiveAnswers(shown: Message[], stored: Message[]): Message[] {
  const live = shown.filter((m) => m.state === "streaming");
  if (!live.length) return stored;
  const kept = stored.map((m) => live.find((x) => x.id === m.id) ?? m);
  return [...kept, ...live.filter((x) => !stored.some((m) => m.id === x.id))];
}
