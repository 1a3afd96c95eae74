import * as React from 'react';

import type { Problem } from '../errors';

export interface ProblemViewProps {
  problem: Problem;
  onRetry?: () => void;
  /** Smaller, inside a section rather than across the sidebar. */
  inline?: boolean;
}

/** What went wrong and what to do, with Retry when trying again can help. */
export function ProblemView({ problem, onRetry, inline }: ProblemViewProps): JSX.Element {
  return (
    <div
      className={`nbrepro-problem${inline ? ' nbrepro-problem-inline' : ''}`}
      data-testid="nbrepro-problem"
      data-kind={problem.kind}
      role="alert"
    >
      <div className="nbrepro-problem-message">{problem.message}</div>
      {problem.hint && <div className="nbrepro-problem-hint">{problem.hint}</div>}
      {problem.retry && onRetry && (
        <button
          className="jp-Button nbrepro-button nbrepro-retry-button"
          data-testid="nbrepro-retry-button"
          onClick={onRetry}
        >
          Retry
        </button>
      )}
    </div>
  );
}
