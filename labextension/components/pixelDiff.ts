/** Two images compared pixel by pixel, over RGBA arrays (what a canvas's getImageData
 * gives). Pure: jest tests it; ImageDiff.tsx only decodes and draws. */

/** The highlight of a differing pixel (opaque magenta: on a faded plot, in either theme). */
export const HIGHLIGHT: [number, number, number] = [255, 0, 200];
/** How much of the original shows under the highlights (its alpha, times this). */
export const FADE = 0.25;

export interface PixelDiff {
  width: number;
  height: number;
  /** Pixels whose RGBA differs by more than the tolerance in any channel. */
  differing: number;
  total: number;
  /** The overlay: differing pixels highlighted over the faded original. */
  overlay: Uint8ClampedArray<ArrayBuffer>;
}

/**
 * Compare two images of one size.
 *
 * @param a - the original's pixels, RGBA, row by row (width * height * 4 values)
 * @param b - the rerun's, the same way
 * @param tolerance - the largest channel difference not counted (0: exact)
 * @returns null when the arrays do not hold width * height pixels each
 */
export function pixelDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  width: number,
  height: number,
  tolerance = 0
): PixelDiff | null {
  const total = width * height;
  if (a.length !== total * 4 || b.length !== total * 4) {
    return null;
  }
  const overlay = new Uint8ClampedArray(total * 4);
  let differing = 0;
  for (let p = 0; p < total * 4; p += 4) {
    let differs = false;
    for (let c = 0; c < 4; c++) {
      if (Math.abs(a[p + c] - b[p + c]) > tolerance) {
        differs = true;
        break;
      }
    }
    if (differs) {
      differing++;
      overlay[p] = HIGHLIGHT[0];
      overlay[p + 1] = HIGHLIGHT[1];
      overlay[p + 2] = HIGHLIGHT[2];
      overlay[p + 3] = 255;
    } else {
      overlay[p] = a[p];
      overlay[p + 1] = a[p + 1];
      overlay[p + 2] = a[p + 2];
      overlay[p + 3] = Math.round(a[p + 3] * FADE);
    }
  }
  return { width, height, differing, total, overlay };
}

/** "1,234 of 307,200 pixels differ (0.40%)"; "no pixel differs" when none does. */
export function diffSummary(differing: number, total: number): string {
  if (differing === 0) {
    return 'no pixel differs (the image files differ, not what they show)';
  }
  const pct = (differing / total) * 100;
  const shown = pct >= 10 ? pct.toFixed(0) : pct >= 0.01 ? pct.toFixed(2) : '<0.01';
  const noun = differing === 1 ? 'pixel differs' : 'pixels differ';
  return `${differing.toLocaleString('en')} of ${total.toLocaleString('en')} ${noun} (${shown}%)`;
}

/** "sizes differ: 640×480 vs 800×600" (no pixel diff then). */
export function sizesText(
  a: { width: number; height: number },
  b: { width: number; height: number }
): string {
  return `sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`;
}
