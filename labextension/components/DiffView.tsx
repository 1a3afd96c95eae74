import * as React from 'react';

import { parseUnifiedDiff, splitRows, type DiffLine } from './unifiedDiff';

const PREFIX: Record<DiffLine['kind'], string> = {
  context: ' ',
  removed: '-',
  added: '+',
  hunk: '',
  file: '',
  note: ''
};

/**
 * A unified diff, coloured: one column in a narrow sidebar, the original and the rerun
 * side by side where there is room. Both layouts are rendered; a CSS container query on
 * `.nbrepro-diffview` (style/base.css) shows the one that fits.
 */
export function DiffView({ diff }: { diff: string }): JSX.Element {
  const lines = React.useMemo(() => parseUnifiedDiff(diff), [diff]);
  const rows = React.useMemo(() => splitRows(lines), [lines]);
  return (
    <div className="nbrepro-diffview" data-testid="nbrepro-diffview">
      <pre className="nbrepro-diff nbrepro-diff-unified" data-testid="nbrepro-diff-unified">
        {lines.map((line, i) => (
          <span key={i} className={`nbrepro-diff-line nbrepro-diff-${line.kind}`}>
            {PREFIX[line.kind]}
            {line.text}
            {'\n'}
          </span>
        ))}
      </pre>
      <table className="nbrepro-diff nbrepro-diff-split" data-testid="nbrepro-diff-split">
        <thead>
          <tr>
            <th>original</th>
            <th>rerun</th>
          </tr>
        </thead>
        <tbody>
          {rows
            .filter(row => row.kind !== 'file')
            .map((row, i) =>
              row.kind === 'line' ? (
                <tr key={i}>
                  <td className={`nbrepro-diff-${row.left?.kind ?? 'empty'}`}>
                    {row.left?.text ?? ''}
                  </td>
                  <td className={`nbrepro-diff-${row.right?.kind ?? 'empty'}`}>
                    {row.right?.text ?? ''}
                  </td>
                </tr>
              ) : (
                <tr key={i}>
                  <td colSpan={2} className={`nbrepro-diff-${row.kind}`}>
                    {row.text}
                  </td>
                </tr>
              )
            )}
        </tbody>
      </table>
    </div>
  );
}
