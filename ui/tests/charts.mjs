// Helpers for chart tests: pixels drawn on a metric chart's uPlot canvas, read in the page.

/** The selector of a metric chart's canvas once the chart has been drawn. */
export const chartCanvas = (key) => `figure[data-metric="${key}"] .chart-canvas[data-state="ready"] canvas`;

/**
 * `{ painted, signature }` of a chart's canvas: how many pixels have alpha ≠ 0, and a hash of all
 * pixels (it changes when the chart is redrawn differently). Undefined before the chart exists.
 */
export function canvasStats(page, key) {
  return page.evaluate((selector) => {
    const canvas = document.querySelector(selector);
    if (!canvas || !canvas.width || !canvas.height) return undefined;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    let hash = 2166136261;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] !== 0) painted += 1;
      hash = Math.imul(hash ^ (data[i] + (data[i + 1] << 8) + (data[i + 2] << 16) + (data[i + 3] << 24)), 16777619);
    }
    return { painted, signature: hash >>> 0 };
  }, chartCanvas(key));
}

/** Waits until the chart of `key` has more than `min` painted pixels; returns its stats. */
export async function waitPainted(page, key, min = 500) {
  await page.waitForFunction(
    ([selector, least]) => {
      const canvas = document.querySelector(selector);
      if (!canvas || !canvas.width) return false;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted += 1;
      return painted > least;
    },
    [chartCanvas(key), min],
    { timeout: 10_000 },
  );
  return canvasStats(page, key);
}

/** Waits until the chart of `key` looks different from `before` (a redraw with new content). */
export async function waitRedrawn(page, key, before) {
  await page.waitForFunction(
    ([selector, old]) => {
      const canvas = document.querySelector(selector);
      if (!canvas || !canvas.width) return false;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let hash = 2166136261;
      let painted = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] !== 0) painted += 1;
        hash = Math.imul(hash ^ (data[i] + (data[i + 1] << 8) + (data[i + 2] << 16) + (data[i + 3] << 24)), 16777619);
      }
      return painted > 500 && hash >>> 0 !== old;
    },
    [chartCanvas(key), before.signature],
    { timeout: 10_000 },
  );
  return canvasStats(page, key);
}
