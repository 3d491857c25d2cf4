import { useState } from "react";
import { errorMessage } from "./api";

/** What a finished task reports: its text, or the error's. */
export type TaskResult = { ok: boolean; text: string };

/**
 * One task at a time behind some buttons (import, export, restore): `busy` while it runs, then
 * its report (`null` text: nothing to say, e.g. a cancelled dialog) or its error.
 */
export function useTask() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TaskResult | null>(null);
  const run = (task: () => Promise<string | null>) => {
    setBusy(true);
    setResult(null);
    task()
      .then(
        (text) => text && setResult({ ok: true, text }),
        (e) => setResult({ ok: false, text: errorMessage(e) }),
      )
      .finally(() => setBusy(false));
  };
  return { busy, result, run };
}
