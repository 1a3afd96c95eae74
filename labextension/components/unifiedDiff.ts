/** A unified diff (difflib's, as the report carries them) read into rows to colour,
 * one after the other or side by side. Pure: jest tests it. */

export type LineKind = 'context' | 'removed' | 'added';

/** One line of the unified view. */
export interface DiffLine {
  kind: LineKind | 'hunk' | 'file' | 'note';
  text: string;
}

/** One row of the side-by-side view: the original's line left, the rerun's right
 * (null where that side has none). Headers and notes span both sides. */
export type SplitRow =
  | { kind: 'hunk' | 'file' | 'note'; text: string }
  | {
      kind: 'line';
      left: { kind: LineKind; text: string } | null;
      right: { kind: LineKind; text: string } | null;
    };

/** The lines of a unified diff, each with its kind; the +/-/space prefix removed. */
export function parseUnifiedDiff(diff: string): DiffLine[] {
  const lines: DiffLine[] = [];
  let inHunk = false;
  for (const line of diff.split('\n')) {
    // A removed "-- epoch 1" reads "--- epoch 1": a file header only before the first hunk.
    if (!inHunk && (line.startsWith('--- ') || line.startsWith('+++ '))) {
      lines.push({ kind: 'file', text: line });
    } else if (line.startsWith('@@')) {
      inHunk = true;
      lines.push({ kind: 'hunk', text: line });
    } else if (line.startsWith('-')) {
      lines.push({ kind: 'removed', text: line.slice(1) });
    } else if (line.startsWith('+')) {
      lines.push({ kind: 'added', text: line.slice(1) });
    } else if (line.startsWith(' ')) {
      lines.push({ kind: 'context', text: line.slice(1) });
    } else if (line.length > 0) {
      // "... (12 more lines)" (the report's cut), or "\ No newline at end of file".
      lines.push({ kind: 'note', text: line });
    }
  }
  return lines;
}

/** The lines side by side: context on both sides, each run of removed lines paired
 * with the added lines that follow it, row by row. */
export function splitRows(lines: DiffLine[]): SplitRow[] {
  const rows: SplitRow[] = [];
  let removed: DiffLine[] = [];
  let added: DiffLine[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      const left = removed[i];
      const right = added[i];
      rows.push({
        kind: 'line',
        left: left ? { kind: 'removed', text: left.text } : null,
        right: right ? { kind: 'added', text: right.text } : null
      });
    }
    removed = [];
    added = [];
  };
  for (const line of lines) {
    if (line.kind === 'removed') {
      if (added.length > 0) {
        flush(); // a removal after additions starts a new change
      }
      removed.push(line);
    } else if (line.kind === 'added') {
      added.push(line);
    } else {
      flush();
      if (line.kind === 'context') {
        rows.push({
          kind: 'line',
          left: { kind: 'context', text: line.text },
          right: { kind: 'context', text: line.text }
        });
      } else {
        rows.push({ kind: line.kind, text: line.text });
      }
    }
  }
  flush();
  return rows;
}
