import type { ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import rehypeHighlight from "rehype-highlight";
import { visit } from "unist-util-visit";
import "highlight.js/styles/github.css";

/**
 * Message text as markdown (GFM: tables, lists, code with syntax highlighting). Untrusted text
 * is safe here: react-markdown builds React elements (no HTML strings), raw HTML in the text
 * is shown as the text it is (never parsed, never silently dropped: a model that answers in
 * HTML is still readable), and `javascript:`-style URLs are dropped. Links never navigate the app's
 * window away: they show their address and are not followed.
 */
function remarkHtmlAsText() {
  return (tree: Parameters<typeof visit>[0]) => {
    visit(tree, "html", (node) => {
      (node as { type: string }).type = "text";
    });
  };
}

/** A citation as models write it: `[n]` or `[n, m]` (the numbers in group 1). */
export const CITATION = /\[(\d+(?:\s*,\s*\d+)*)\]/;

/** Where a citation `[n]` points: the link target the citations plugin writes. */
const CITE_PREFIX = "#cite-";

type MdNode = { type: string; value?: string; url?: string; children?: MdNode[] };

/**
 * Citations `[n]` (and `[n, m]`) in the text become links to `#cite-n`, which the `cite`
 * renderer shows as chips. Code is left alone (only text nodes are visited).
 */
export function remarkCitations() {
  return (tree: Parameters<typeof visit>[0]) => {
    visit(tree, "text", (node, index, parent) => {
      const text = (node as MdNode).value ?? "";
      const re = new RegExp(CITATION.source, "g");
      if (!parent || index === undefined || !re.test(text)) return;
      re.lastIndex = 0;
      const out: MdNode[] = [];
      let last = 0;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        if (m.index > last) out.push({ type: "text", value: text.slice(last, m.index) });
        for (const n of m[1].split(",")) {
          const k = n.trim();
          out.push({ type: "link", url: CITE_PREFIX + k, children: [{ type: "text", value: k }] });
        }
        last = m.index + m[0].length;
      }
      if (last < text.length) out.push({ type: "text", value: text.slice(last) });
      (parent as MdNode).children!.splice(index, 1, ...out);
      return index + out.length;
    });
  };
}

function SafeLink({ href, children }: { href?: string; children?: ReactNode }) {
  return (
    <a href={href} title={href} onClick={(e) => e.preventDefault()} className="md-link">
      {children}
    </a>
  );
}

const components: Components = {
  a: ({ href, children }) => <SafeLink href={href}>{children}</SafeLink>,
  img: ({ alt }) => <span className="md-img">[image{alt ? `: ${alt}` : ""}]</span>,
};

/**
 * `cite`, when given, renders citation `n` (a chip that opens its source); it returns null for
 * a number it does not know, which is then shown as the text `[n]`.
 */
export function Markdown({ text, cite }: { text: string; cite?: (n: number) => ReactNode | null }) {
  const withCites: Components = cite
    ? {
        ...components,
        a: ({ href, children }) => {
          if (!href?.startsWith(CITE_PREFIX)) return <SafeLink href={href}>{children}</SafeLink>;
          const n = href.slice(CITE_PREFIX.length);
          return cite(Number(n)) ?? `[${n}]`;
        },
      }
    : components;
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={cite ? [remarkGfm, remarkHtmlAsText, remarkCitations] : [remarkGfm, remarkHtmlAsText]}
        rehypePlugins={[rehypeHighlight]}
        components={withCites}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
