/**
 * How close a hit is to the question, as a short bar (the number on hover and for screen
 * readers): cosine 0.2 and below is an empty bar, 0.8 and above a full one.
 */
export function SimilarityBar({ value }: { value: number }) {
  const share = Math.max(0, Math.min(1, (value - 0.2) / 0.6));
  const label = `similarity ${value.toFixed(2)}`;
  return (
    <span className="sim-bar" title={label} role="img" aria-label={label} data-testid="similarity">
      <span style={{ width: `${Math.round(share * 100)}%` }} />
    </span>
  );
}
