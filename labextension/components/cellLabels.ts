/** How the report names a cell to a user, as JupyterLab shows it: "In [3] (cell 4)",
 * the execution count and the cell's place in the notebook counting from 1
 * (docs/verdict.md). The server makes the labels; these name what older reports left
 * unlabelled, never by a 0-based index. */

import type { CodeChange, OutputCellDiff, ReportFailure } from '../api-types';

/** A changed cell of the code section: its label, or (a report from before labels)
 * its place in the replay, which holds only executed cells. */
export function codeChangeLabel(
  change: Pick<CodeChange, 'index_a' | 'index_b'> & Partial<Pick<CodeChange, 'label_a' | 'label_b'>>
): string {
  const label = change.label_a ?? change.label_b;
  if (label) {
    return label;
  }
  const index = change.index_a ?? change.index_b;
  return index === null ? 'a cell' : `replayed cell ${index + 1}`;
}

/** A cell whose outputs differ: its label, or its place among the executions. */
export function outputCellLabel(cell: Pick<OutputCellDiff, 'cell'> & { label?: string }): string {
  return cell.label || `execution ${cell.cell + 1}`;
}

/** The cell a rerun failed in. */
export function failureLabel(failure: Pick<ReportFailure, 'cell' | 'cell_index'>): string {
  if (failure.cell) {
    return failure.cell;
  }
  return failure.cell_index >= 0 ? `cell ${failure.cell_index + 1}` : 'a cell';
}
