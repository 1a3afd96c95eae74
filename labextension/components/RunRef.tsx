import * as React from 'react';

import { shortId } from './format';

/** Shows a run in the sidebar (its details); the sidebar provides it. */
export const ShowRunContext = React.createContext<((runId: string) => void) | null>(null);

/** A run id that links to its run: the sidebar's details of it (the MLflow UI link is there). */
export function RunRef({ runId, label }: { runId: string; label?: string }): JSX.Element {
  const show = React.useContext(ShowRunContext);
  const text = label ?? shortId(runId);
  if (!show) {
    return <span title={runId}>{text}</span>;
  }
  return (
    <a
      href="#"
      className="nbrepro-run-link"
      data-testid="nbrepro-run-link"
      data-run-id={runId}
      title={`Show run ${runId}`}
      onClick={event => {
        event.preventDefault();
        show(runId);
      }}
    >
      {text}
    </a>
  );
}
