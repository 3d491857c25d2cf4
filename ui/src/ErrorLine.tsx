import { errorDetail, errorMessage } from "./api";

/** An error as the person should see it: its first line in plain words, the rest behind "Details". */
export type Shown = { message: string; detail: string | null };

/**
 * What an error from the backend (or anything thrown) shows: the message's first line; the
 * rest of the message and the backend's technical detail, if any, go under "Details".
 */
export function shownError(e: unknown): Shown {
  const message = errorMessage(e).trim();
  const [first, ...rest] = message.split("\n");
  const detail = [rest.join("\n").trim(), errorDetail(e) ?? ""].filter(Boolean).join("\n\n");
  return { message: first || "Something went wrong.", detail: detail || null };
}

/** One line of error, a Retry button when the action can be tried again, and the details on demand. */
export function ErrorLine({ error, onRetry }: { error: Shown; onRetry?: () => void }) {
  return (
    <div className="error-line" role="alert" data-testid="error-line">
      <span className="error-text">{error.message}</span>
      {onRetry && (
        <button type="button" className="link small" data-testid="error-retry" onClick={onRetry}>
          Retry
        </button>
      )}
      {error.detail && (
        <details>
          <summary>Details</summary>
          <code>{error.detail}</code>
        </details>
      )}
    </div>
  );
}
