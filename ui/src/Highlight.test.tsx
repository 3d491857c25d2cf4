import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render } from "@testing-library/react";
import { excerpt, Highlight } from "./Highlight";

afterEach(cleanup);

describe("Highlight", () => {
  it("marks query words at word starts only, skipping stop words", () => {
    const { container } = render(<Highlight text="Staying in Lisbon: more trams, the ore" query="the stay ore" />);
    const marks = Array.from(container.querySelectorAll("mark")).map((m) => m.textContent);
    expect(marks).toEqual(["Stay", "ore"]);
  });

  it("keeps markup in a snippet as text", () => {
    const { container } = render(<Highlight text={'<img src=x onerror="alert(1)"> zebrafish'} query="zebrafish" />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.textContent).toContain("<img src=x");
    expect(container.querySelector("mark")?.textContent).toBe("zebrafish");
  });

  it("cuts an excerpt around the first hit", () => {
    const long = "a ".repeat(200) + "the sourdough starter smelled of acetone " + "b ".repeat(200);
    const e = excerpt(long, "acetone", 100);
    expect(e.startsWith("…")).toBe(true);
    expect(e).toContain("acetone");
    expect(e.length).toBeLessThanOrEqual(102);
  });
});
