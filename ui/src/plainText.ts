import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";

/** Inline nodes join without a space; blocks (paragraphs, list items, cells) with one. */
const INLINE = new Set(["text", "emphasis", "strong", "delete", "link", "linkReference", "inlineCode", "break"]);

type Node = { type: string; value?: string; children?: Node[] };

function text(node: Node): string {
  if (node.type === "break") return " ";
  if (typeof node.value === "string") return node.value;
  // A table reads row by row: "Gym, Cost; YMCA, $79; GoodLife, $55." (empty cells left out),
  // not its cells run together or its pipes and dashes.
  if (node.type === "table") {
    const rows = (node.children ?? []).map((row) =>
      (row.children ?? [])
        .map((cell) => text(cell).trim())
        .filter((cell) => cell !== "")
        .join(", "),
    );
    const all = rows.filter((row) => row !== "").join("; ");
    // Ended like a sentence, so the text after it does not run on from its last cell.
    return all === "" || /[.!?:;…]$/.test(all) ? all : `${all}.`;
  }
  const parts = (node.children ?? []).map(text);
  const inline = (node.children ?? []).every((c) => INLINE.has(c.type));
  return parts.join(inline ? "" : " ");
}

/**
 * Markdown as the plain text a reader sees (`**bold**` → bold, `[a link](url)` → a link, list
 * markers and code fences gone, tables row by row; GitHub's flavour, as messages are rendered),
 * one line: for search snippets and cited excerpts, which are too short to render as markdown.
 * Raw HTML stays the text it is; the result is always shown as text.
 */
export function plainText(markdown: string): string {
  try {
    const tree = fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
    return text(tree as Node).replace(/\s+/g, " ").trim();
  } catch {
    return markdown.replace(/\s+/g, " ").trim();
  }
}
