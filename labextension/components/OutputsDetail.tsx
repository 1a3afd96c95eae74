import * as React from 'react';

import type { OutputsComparison } from '../api-types';
import { outputCellLabel } from './cellLabels';
import { DiffView } from './DiffView';
import { CellImagesView, type ImagesSource, useCellImages } from './ImageDiff';
import { plural } from './format';

/** Differing cells shown (the report lists them all). */
const SHOWN_CELLS = 5;

/** The outputs section: how each run ended, then each differing cell, its images side
 * by side (open at once) and its coloured text diff. */
export function OutputsDetail({
  out,
  original,
  rerun,
  images
}: {
  out: OutputsComparison;
  original: string;
  rerun: string;
  images?: ImagesSource;
}): JSX.Element {
  const cells = out.cells.slice(0, SHOWN_CELLS);
  const imageCells = cells.filter(cell => cell.images_differ).map(cell => cell.cell);
  const fetched = useCellImages(images, original, rerun, imageCells);
  return (
    <div className="nbrepro-detail">
      {plural(out.compared, 'cell')} compared
      {out.failures && !out.failures.same && (
        <div className="nbrepro-outputs-failures">
          the original{' '}
          {out.failures.original
            ? `failed at ${out.failures.original.label} (${out.failures.original.ename})`
            : 'completed'}
          , the rerun{' '}
          {out.failures.rerun
            ? `failed at ${out.failures.rerun.label} (${out.failures.rerun.ename})`
            : 'completed'}
        </div>
      )}
      {(out.not_rerun ?? []).length > 0 && (
        <div className="nbrepro-outputs-failures">
          not run by the rerun: {out.not_rerun.slice(0, 10).join(', ')}
        </div>
      )}
      {cells.map(cell => {
        const pair = fetched.value?.cells.find(c => c.cell === cell.cell);
        return (
          <details
            key={cell.cell}
            open={cell.images_differ}
            data-testid="nbrepro-output-cell"
            data-cell={cell.cell}
          >
            <summary data-testid="nbrepro-output-cell-label">
              {outputCellLabel(cell)}
              {cell.images_differ && ' (images differ)'}
              {(cell.volatile ?? []).length > 0 &&
                ` (volatile: ${cell.volatile.join(', ')}${cell.counted ? '' : ', not counted'})`}
            </summary>
            {cell.images_differ && pair && <CellImagesView pair={pair} />}
            {cell.images_differ && !pair && images && (
              <div className="nbrepro-image-note" data-testid="nbrepro-images-status">
                {fetched.problem
                  ? `The images could not be shown: ${fetched.problem}`
                  : fetched.value
                    ? 'No image recorded for this cell.'
                    : 'Loading the images…'}
              </div>
            )}
            <DiffView diff={cell.diff} />
          </details>
        );
      })}
      {out.cells.length > SHOWN_CELLS && (
        <div className="nbrepro-image-note">
          {plural(out.cells.length - SHOWN_CELLS, 'more differing cell')} not shown here.
        </div>
      )}
      {fetched.value && fetched.value.left_out > 0 && (
        <div className="nbrepro-image-note">
          {plural(fetched.value.left_out, 'image')} not shown: over{' '}
          {Math.round(fetched.value.max_bytes / 1048576)} MB of images at once.
        </div>
      )}
    </div>
  );
}
