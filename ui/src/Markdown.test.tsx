import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render } from "@testing-library/react";
import { Markdown } from "./Markdown";

afterEach(cleanup);

describe("Markdown", () => {
  it("renders GFM: emphasis, lists, tables and highlighted code", () => {
    const { container } = render(
      <Markdown text={"**bold** and *em*\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```"} />,
    );
    expect(container.querySelector("strong")?.textContent).toBe("bold");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelectorAll("td")).toHaveLength(2);
    const code = container.querySelector("pre code");
    expect(code?.className).toContain("hljs");
    expect(code?.querySelector("[class^=hljs-]")).not.toBeNull();
  });

  it("never turns message text into live HTML", () => {
    const { container } = render(
      <Markdown
        text={
          'hi <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> <iframe src="https://example.com"></iframe> <a href="https://example.com" onclick="window.__xss=3">x</a>'
        }
      />,
    );
    expect(container.querySelector("img, script, iframe, [onerror], [onclick]")).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
    // Shown as the text it is, not dropped.
    expect(container.textContent).toContain('<img src=x onerror="window.__xss=1">');
    expect(container.textContent).toContain("<script>window.__xss=2</script>");
  });

  it("keeps an answer written in HTML readable", () => {
    const { container } = render(<Markdown text={"<p>Porto: <b>Ribeira</b></p>\n\nand **more**"} />);
    expect(container.querySelector("p b")).toBeNull();
    expect(container.textContent).toContain("<p>Porto: <b>Ribeira</b></p>");
    expect(container.querySelector("strong")?.textContent).toBe("more");
  });

  it("drops script URLs and keeps links from navigating", () => {
    const { container } = render(<Markdown text={"[a](javascript:alert(1)) [b](https://example.com)"} />);
    const links = Array.from(container.querySelectorAll("a"));
    expect(links).toHaveLength(2);
    expect(links[0].getAttribute("href") ?? "").not.toMatch(/javascript:/i);
    expect(links[1].getAttribute("href")).toBe("https://example.com");
    const click = new MouseEvent("click", { bubbles: true, cancelable: true });
    links[1].dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
  });

  it("shows images as text, loading nothing", () => {
    const { container } = render(<Markdown text={"![cat](https://example.com/cat.png)"} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.textContent).toContain("[image: cat]");
  });

  it("shows citations as chips only where a renderer is given, and leaves code alone", () => {
    const cite = (n: number) => (n <= 2 ? <button className="chip">{n}</button> : null);
    const { container } = render(
      <Markdown text={"Ribeira [1], near the river [2, 3].\n\n`a[1]`"} cite={cite} />,
    );
    const chips = [...container.querySelectorAll("button.chip")].map((b) => b.textContent);
    expect(chips).toEqual(["1", "2"]);
    // An unknown number stays as its text; code is not touched.
    expect(container.textContent).toContain("[3]");
    expect(container.querySelector("code")?.textContent).toBe("a[1]");
    // Without a renderer the text is as written.
    cleanup();
    const plain = render(<Markdown text={"Ribeira [1]"} />);
    expect(plain.container.querySelector("button, a")).toBeNull();
    expect(plain.container.textContent).toBe("Ribeira [1]");
  });
});
