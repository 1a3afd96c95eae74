import { codeChangeLabel, failureLabel, outputCellLabel } from '../components/cellLabels';
import { diffSummary, FADE, HIGHLIGHT, pixelDiff, sizesText } from '../components/pixelDiff';
import { parseUnifiedDiff, splitRows } from '../components/unifiedDiff';

/** width * height RGBA pixels of one colour. */
function solid(width: number, height: number, rgba: number[]): Uint8ClampedArray {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < data.length; p += 4) {
    data.set(rgba, p);
  }
  return data;
}

describe('pixel diff', () => {
  it('counts the differing pixels and highlights them over the faded original', () => {
    const a = solid(3, 2, [10, 20, 30, 200]);
    const b = solid(3, 2, [10, 20, 30, 200]);
    b.set([11, 20, 30, 200], 4 * 4); // pixel (1, 1)
    const diff = pixelDiff(a, b, 3, 2)!;
    expect(diff.differing).toBe(1);
    expect(diff.total).toBe(6);
    expect(Array.from(diff.overlay.slice(16, 20))).toEqual([...HIGHLIGHT, 255]);
    // An unchanged pixel: the original's colour, faded.
    expect(Array.from(diff.overlay.slice(0, 4))).toEqual([10, 20, 30, Math.round(200 * FADE)]);
    // Within a tolerance the pixel is the same.
    expect(pixelDiff(a, b, 3, 2, 1)!.differing).toBe(0);
  });

  it('refuses arrays that do not hold the size given', () => {
    expect(pixelDiff(solid(2, 2, [0, 0, 0, 255]), solid(3, 2, [0, 0, 0, 255]), 2, 2)).toBeNull();
  });

  it('says how much differs, or that the sizes do', () => {
    expect(diffSummary(1234, 307200)).toBe('1,234 of 307,200 pixels differ (0.40%)');
    expect(diffSummary(1, 4)).toBe('1 of 4 pixel differs (25%)');
    expect(diffSummary(1, 1000000)).toBe('1 of 1,000,000 pixel differs (<0.01%)');
    expect(diffSummary(0, 4)).toMatch(/^no pixel differs/);
    expect(sizesText({ width: 640, height: 480 }, { width: 800, height: 600 })).toBe(
      'sizes differ: 640×480 vs 800×600'
    );
  });
});

const DIFF = [
  '--- original',
  '+++ rerun',
  '@@ -1,4 +1,4 @@',
  ' [stream stdout]',
  '-loss 0.12',
  '-acc 0.91',
  '+loss 0.13',
  ' done',
  '+extra',
  '... (3 more lines)'
].join('\n');

describe('unified diff rows', () => {
  it('reads each line with its kind, the prefix removed', () => {
    expect(parseUnifiedDiff(DIFF).map(l => [l.kind, l.text])).toEqual([
      ['file', '--- original'],
      ['file', '+++ rerun'],
      ['hunk', '@@ -1,4 +1,4 @@'],
      ['context', '[stream stdout]'],
      ['removed', 'loss 0.12'],
      ['removed', 'acc 0.91'],
      ['added', 'loss 0.13'],
      ['context', 'done'],
      ['added', 'extra'],
      ['note', '... (3 more lines)']
    ]);
    expect(parseUnifiedDiff('')).toEqual([]);
    // After the first hunk, "--- x" is a removed "-- x", not a file header.
    expect(
      parseUnifiedDiff('--- a\n+++ b\n@@ -1 +1 @@\n--- epoch 1\n+++ epoch 2').map(l => l.kind)
    ).toEqual(['file', 'file', 'hunk', 'removed', 'added']);
  });

  it('pairs removed lines with the added ones that follow, side by side', () => {
    const rows = splitRows(parseUnifiedDiff(DIFF));
    const shown = rows.map(row =>
      row.kind === 'line' ? [row.left?.text ?? null, row.right?.text ?? null] : row.text
    );
    expect(shown).toEqual([
      '--- original',
      '+++ rerun',
      '@@ -1,4 +1,4 @@',
      ['[stream stdout]', '[stream stdout]'],
      ['loss 0.12', 'loss 0.13'],
      ['acc 0.91', null],
      ['done', 'done'],
      [null, 'extra'],
      '... (3 more lines)'
    ]);
    const pair = rows[4];
    expect(pair.kind === 'line' && [pair.left?.kind, pair.right?.kind]).toEqual([
      'removed',
      'added'
    ]);
  });
});

describe('cell labels', () => {
  it('use the report’s labels, as JupyterLab numbers cells', () => {
    expect(
      codeChangeLabel({
        index_a: 2,
        index_b: 2,
        label_a: 'In [3] (cell 4)',
        label_b: 'In [3] (cell 4)'
      })
    ).toBe('In [3] (cell 4)');
    expect(codeChangeLabel({ index_a: null, index_b: 0, label_a: null, label_b: 'cell 1' })).toBe(
      'cell 1'
    );
    expect(outputCellLabel({ cell: 2, label: 'In [2] (cell 3)' })).toBe('In [2] (cell 3)');
  });

  it('count from 1 in older reports, never show a 0-based index', () => {
    expect(codeChangeLabel({ index_a: 0, index_b: 0 })).toBe('replayed cell 1');
    expect(codeChangeLabel({ index_a: null, index_b: 4 })).toBe('replayed cell 5');
    expect(outputCellLabel({ cell: 0 })).toBe('execution 1');
    expect(failureLabel({ cell: '', cell_index: 2 })).toBe('cell 3');
    expect(failureLabel({ cell: '', cell_index: -1 })).toBe('a cell');
    expect(failureLabel({ cell: 'In [2] (cell 3)', cell_index: 2 })).toBe('In [2] (cell 3)');
  });
});
