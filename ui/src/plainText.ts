import { fromMarkdown } from "mdast-util-from-markdown";

/** Inline nodes join without a space; blocks (paragraphs, list items, cells) with one. */
const INLINE = new Set(["text", "emphasis", "strong", "delete", "link", "linkReference", "inlineCode", "break"]);

type Node = { type: string; value?: string; children?: Node[] };

function text(node: Node): string {
  if (node.type === "break") return " ";
  if (typeof node.value === "string") return node.value;
  const parts = (node.children ?? []).map(text);
  const inline = (node.children ?? []).every((c) => INLINE.has(c.type));
  return parts.join(inline ? "" : " ");
}

/**
 * Markdown as the plain text a reader sees (`**bold**` → bold, `[a link](url)` → a link, list
 * markers and code fences gone), one line: for search snippets and cited excerpts, which are
 * too short to render as markdown. Raw HTML stays the text it is; the result is always shown
 * as text.
 */
export function plainText(markdown: string): string {
  try {
    return text(fromMarkdown(markdown) as Node).replace(/\s+/g, " ").trim();
  } catch {
    return markdown.replace(/\s+/g, " ").trim();
  }
}
