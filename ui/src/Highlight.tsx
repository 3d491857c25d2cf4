const STOPWORDS = new Set(
  "about and are but can did does for from had has have how its not our that the their them then there this was were what when where which who why will with would you your".split(
    " ",
  ),
);

/** The words of a query worth highlighting (no stop words, at least 3 letters). */
function queryWords(query: string): string[] {
  return query
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 2 && !STOPWORDS.has(w));
}

/** `text` with the words of `query` wrapped in <mark>, matched at word starts ("stay" marks
 *  "staying", "ore" never marks "more"). Built from React elements, so the text is escaped: a
 *  snippet can never become HTML. */
export function Highlight({ text, query }: { text: string; query: string }) {
  const words = queryWords(query);
  if (words.length === 0) return <>{text}</>;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const parts = text.split(new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join("|")})`, "giu"));
  return (
    <>
      {parts.map((p, i) => (i % 2 === 1 ? <mark key={i}>{p}</mark> : p))}
    </>
  );
}

/** A window of `text` around the first query word, at most `max` characters. */
export function excerpt(text: string, query: string, max = 180): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const lower = flat.toLowerCase();
  const hit = queryWords(query)
    .map((w) => lower.indexOf(w))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b)[0];
  const start = hit === undefined ? 0 : Math.max(0, hit - 60);
  return (start > 0 ? "…" : "") + flat.slice(start, start + max) + (start + max < flat.length ? "…" : "");
}
