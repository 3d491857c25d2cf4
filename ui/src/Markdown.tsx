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

const components: Components = {
  a: ({ href, children }) => (
    <a
      href={href}
      title={href}
      onClick={(e) => e.preventDefault()}
      className="md-link"
    >
      {children}
    </a>
  ),
  img: ({ alt }) => <span className="md-img">[image{alt ? `: ${alt}` : ""}]</span>,
};

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm, remarkHtmlAsText]}
        rehypePlugins={[rehypeHighlight]}
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
