import * as React from 'react';

import type { ReproModel } from '../model';
import { basename, plural, shortId } from './format';
import { ProblemView } from './ProblemView';
import { ReportView } from './ReportView';
import { RunDetailsView } from './RunDetails';
import { RunList } from './RunList';

export interface SidebarActions {
  /** Save the notebook in focus, then capture its kernel session. */
  capture: () => void;
  /** Open a path relative to the server root (a run's notebook copy); null: cannot. */
  openPath: ((path: string) => Promise<unknown>) | null;
}

/** The whole sidebar: header, then the list, a run's details, or a comparison. */
export function Sidebar({
  model,
  actions
}: {
  model: ReproModel;
  actions: SidebarActions;
}): JSX.Element {
  const { connection } = model;
  return (
    <div className="nbrepro-sidebar" data-testid="nbrepro-sidebar">
      <Header model={model} actions={actions} />
      {connection.status === 'problem' && connection.problem && (
        <ProblemView problem={connection.problem} onRetry={() => void model.retry()} />
      )}
      {connection.status === 'checking' && (
        <div className="nbrepro-loading">Connecting to nbrepro&apos;s server extension…</div>
      )}
      {connection.status === 'ok' && <CaptureStatus model={model} />}
      {connection.status === 'ok' && <Body model={model} actions={actions} />}
    </div>
  );
}

function Header({ model, actions }: { model: ReproModel; actions: SidebarActions }): JSX.Element {
  const ok = model.connection.status === 'ok';
  return (
    <div className="nbrepro-header">
      <div className="nbrepro-title">Reproducible runs</div>
      <div
        className="nbrepro-notebook"
        data-testid="nbrepro-notebook"
        title={model.notebookPath ?? ''}
      >
        {model.notebookPath ? basename(model.notebookPath) : 'No notebook open'}
      </div>
      <div className="nbrepro-toolbar">
        <div className="nbrepro-scope" role="group" aria-label="Which runs">
          <button
            className={`nbrepro-scope-button${model.scope === 'notebook' ? ' jp-mod-active' : ''}`}
            data-testid="nbrepro-scope-notebook"
            aria-pressed={model.scope === 'notebook'}
            onClick={() => model.setScope('notebook')}
          >
            This notebook
          </button>
          <button
            className={`nbrepro-scope-button${model.scope === 'experiment' ? ' jp-mod-active' : ''}`}
            data-testid="nbrepro-scope-experiment"
            aria-pressed={model.scope === 'experiment'}
            title={
              model.settings.defaultExperiment
                ? `All runs of experiment "${model.settings.defaultExperiment}"`
                : 'All nbrepro runs of the tracking store'
            }
            onClick={() => model.setScope('experiment')}
          >
            All runs
          </button>
        </div>
        <button
          className="jp-Button nbrepro-button nbrepro-refresh-button"
          data-testid="nbrepro-refresh-button"
          title="Refresh the runs"
          onClick={() => void model.retry()}
        >
          ⟳
        </button>
        <button
          className="jp-Button nbrepro-button nbrepro-accept nbrepro-capture-button"
          data-testid="nbrepro-capture-button"
          disabled={!ok || !model.notebookPath || model.capture.loading}
          title="Save the notebook, then record its kernel session as a run"
          onClick={actions.capture}
        >
          {model.capture.loading ? 'Capturing…' : 'Capture run'}
        </button>
      </div>
    </div>
  );
}

function CaptureStatus({ model }: { model: ReproModel }): JSX.Element | null {
  const { value, problem } = model.capture;
  if (!value && !problem) {
    return null;
  }
  return (
    <div className="nbrepro-capture-status" data-testid="nbrepro-capture-status">
      {problem && <ProblemView problem={problem} inline />}
      {value && (
        <div className="nbrepro-capture-result">
          Captured run {value.run_name || shortId(value.run_id)}: {plural(value.cells, 'cell')}
          {value.tables.length > 0 && `, ${plural(value.tables.length, 'Delta table')}`}
          {value.hidden_state && ' (hidden state: see Code)'}
          {value.warning && <div className="nbrepro-drift-warning">{value.warning}</div>}
        </div>
      )}
      <button className="nbrepro-dismiss" title="Dismiss" onClick={() => model.dismissCapture()}>
        ×
      </button>
    </div>
  );
}

function Body({ model, actions }: { model: ReproModel; actions: SidebarActions }): JSX.Element {
  const comparison = model.comparison;
  if (comparison) {
    return (
      <div className="nbrepro-comparison" data-testid="nbrepro-comparison">
        <button
          className="jp-Button nbrepro-button nbrepro-back-button"
          data-testid="nbrepro-back-button"
          onClick={() => model.closeComparison()}
        >
          ← Runs
        </button>
        <h3>
          Compare {shortId(comparison.a)} with {shortId(comparison.b)}
        </h3>
        {comparison.loading && <div className="nbrepro-loading">Comparing…</div>}
        {comparison.problem && (
          <ProblemView
            problem={comparison.problem}
            onRetry={() => void model.compare(comparison.a, comparison.b)}
          />
        )}
        {comparison.value && <ReportView report={comparison.value} />}
      </div>
    );
  }
  if (model.selectedRunId) {
    return <RunDetailsView model={model} openPath={actions.openPath} />;
  }
  return <RunList model={model} />;
}
