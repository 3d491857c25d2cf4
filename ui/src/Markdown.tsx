import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import rehypeHighlight from "rehype-highlight";
import "highlight.js/styles/github.css";

/**
 * Message text as markdown (GFM: tables, lists, code with syntax highlighting). Untrusted text
 * is safe here: react-markdown builds React elements (no HTML strings), raw HTML in the text
 * is not rendered, and `javascript:`-style URLs are dropped. Links never navigate the app's
 * window away: they show their address and are not followed.
 */
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
      <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={[rehypeHighlight]} components={components} skipHtml>
        {text}
      </ReactMarkdown>
    </div>
  );
}
