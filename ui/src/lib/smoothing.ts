//! Exponential moving average for metric charts, debiased so the first points are not pulled to 0.

/**
 * EMA of `values` with weight `weight` in [0, 1): 0 returns the values unchanged. Gaps (null,
 * undefined, NaN, ±Infinity) stay gaps and do not reset the average.
 */
export function ema(values: ArrayLike<number | null | undefined>, weight: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length);
  if (!(weight > 0)) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      out[i] = v === undefined || v === null || !Number.isFinite(v) ? null : v;
    }
    return out;
  }
  const w = Math.min(weight, 0.999);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined || v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * w + (1 - w) * v;
    count += 1;
    out[i] = last / (1 - Math.pow(w, count));
  }
  return out;
}
