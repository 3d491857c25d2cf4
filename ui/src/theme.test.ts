import { afterEach, describe, expect, it } from "vitest";
import { applyTheme, loadTheme, resolveTheme, saveTheme } from "./theme";

afterEach(() => window.localStorage.clear());

describe("theme", () => {
  it("resolves System to the desktop's theme and keeps an explicit choice", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
    expect(resolveTheme("light", true)).toBe("light");
    expect(resolveTheme("dark", false)).toBe("dark");
  });

  it("is saved, applied to the root element, and System when nothing valid is saved", () => {
    expect(loadTheme()).toBe("system");
    saveTheme("dark");
    expect(loadTheme()).toBe("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    applyTheme("light");
    expect(document.documentElement.dataset.theme).toBe("light");
    window.localStorage.setItem("hindsight.theme", "purple");
    expect(loadTheme()).toBe("system");
  });
});
