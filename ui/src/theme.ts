/**
 * The colour theme: Light, Dark, or System (follows the desktop, live). The choice is a
 * preference of this window, kept in localStorage and applied before the first paint (no
 * flash of the wrong theme); CSS reads only `data-theme` on the root element.
 */
export type Theme = "system" | "light" | "dark";

const KEY = "hindsight.theme";
const media = () => window.matchMedia?.("(prefers-color-scheme: dark)");

export function loadTheme(): Theme {
  const saved = window.localStorage?.getItem(KEY);
  return saved === "light" || saved === "dark" ? saved : "system";
}

/** The theme actually shown for a choice. */
export function resolveTheme(theme: Theme, systemDark: boolean): "light" | "dark" {
  return theme === "system" ? (systemDark ? "dark" : "light") : theme;
}

let unwatch: (() => void) | null = null;

/** Shows `theme` now and, for "system", follows the desktop's changes. */
export function applyTheme(theme: Theme) {
  const root = document.documentElement;
  const show = () => {
    const shown = resolveTheme(theme, media()?.matches ?? false);
    root.dataset.theme = shown;
    root.style.colorScheme = shown;
  };
  unwatch?.();
  unwatch = null;
  show();
  const m = media();
  if (theme === "system" && m) {
    m.addEventListener("change", show);
    unwatch = () => m.removeEventListener("change", show);
  }
}

export function saveTheme(theme: Theme) {
  window.localStorage?.setItem(KEY, theme);
  applyTheme(theme);
}
