import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { PICKER, Reactions } from "./Reactions";

afterEach(cleanup);

describe("Reactions", () => {
  it("offers the thumbs and shows every other reaction the message has", () => {
    render(<Reactions reactions={["🎉", "👍"]} onToggle={() => {}} />);
    const shown = screen.getAllByTestId("reaction").map((b) => [b.dataset.emoji, b.getAttribute("aria-pressed")]);
    expect(shown).toEqual([
      ["👍", "true"],
      ["👎", "false"],
      ["🎉", "true"],
    ]);
    expect(screen.queryByTestId("reaction-picker")).toBeNull();
  });

  it("picks from the picker with the keyboard and gives focus back", () => {
    const toggle = vi.fn();
    render(<Reactions reactions={[]} onToggle={toggle} />);
    const more = screen.getByTestId("reaction-more");
    fireEvent.click(more);
    expect(more.getAttribute("aria-expanded")).toBe("true");
    const picker = screen.getByTestId("reaction-picker");
    expect(document.activeElement).toBe(screen.getAllByTestId("pick-reaction")[0]);
    fireEvent.keyDown(picker, { key: "ArrowRight" });
    fireEvent.keyDown(picker, { key: "ArrowRight" });
    expect((document.activeElement as HTMLElement).dataset.emoji).toBe(PICKER[2]);
    fireEvent.keyDown(picker, { key: "ArrowLeft" });
    fireEvent.click(document.activeElement as HTMLElement);
    expect(toggle).toHaveBeenCalledWith(PICKER[1]);
    expect(screen.queryByTestId("reaction-picker")).toBeNull();
    expect(document.activeElement).toBe(more);
  });

  it("closes on Escape without letting the key reach the window", () => {
    const windowKeys = vi.fn();
    window.addEventListener("keydown", windowKeys);
    render(<Reactions reactions={[]} onToggle={() => {}} />);
    fireEvent.click(screen.getByTestId("reaction-more"));
    fireEvent.keyDown(screen.getByTestId("reaction-picker"), { key: "Escape" });
    expect(screen.queryByTestId("reaction-picker")).toBeNull();
    expect(windowKeys).not.toHaveBeenCalled();
    window.removeEventListener("keydown", windowKeys);
  });
});
