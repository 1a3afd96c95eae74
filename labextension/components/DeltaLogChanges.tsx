import * as React from 'react';

import type { DeltaLogChanges } from '../api-types';
import { changesSummary, commitLine } from './deltaLog';
import { when } from './format';

/**
 * What the Delta log says moved between the versions two runs read: one line, then the
 * commits in a <details>.
 */
export function DeltaLogChangesView({ changes }: { changes: DeltaLogChanges }): JSX.Element {
  return (
    <div className="nbrepro-delta-log" data-testid="nbrepro-delta-log">
      <span className="nbrepro-delta-log-summary" data-testid="nbrepro-delta-log-summary">
        {changesSummary(changes)}
      </span>
      {changes.backwards && (
        <span className="nbrepro-note"> (the second run read the older version)</span>
      )}
      {changes.note && (
        <div className="nbrepro-note" data-testid="nbrepro-delta-log-note">
          {changes.note}
        </div>
      )}
      {changes.commits.length > 0 && (
        <details className="nbrepro-delta-log-commits" data-testid="nbrepro-delta-log-commits">
          <summary>
            {changes.commits.length === 1 ? 'The commit' : `The ${changes.commits.length} commits`}
            {changes.left_out > 0 && ` nearest v${changes.to_version}`}
          </summary>
          <ul className="nbrepro-detail-list">
            {changes.commits.map(commit => {
              const at = when(commit.timestamp);
              return (
                <li
                  key={commit.version}
                  data-testid="nbrepro-delta-log-commit"
                  data-version={commit.version}
                  data-operation={commit.operation}
                >
                  {commitLine(commit)}
                  {commit.timestamp && (
                    <>
                      {' · '}
                      <span title={at.full}>{at.human}</span>
                    </>
                  )}
                </li>
              );
            })}
          </ul>
        </details>
      )}
    </div>
  );
}
