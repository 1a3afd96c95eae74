import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { ReproModel } from '../model';
import { basename, plural, shortId } from './format';
import { HomeContext } from './Path';
import { ProblemView } from './ProblemView';
import { ReportView } from './ReportView';
import { RunDetailsView } from './RunDetails';
import { RunList, runLabel } from './RunList';
import { ShowRunContext } from './RunRef';

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
  // A run id in a report or a job opens that run's details (a comparison closes first).
  const showRun = React.useCallback(
    (runId: string) => {
      model.closeComparison();
      void model.select(runId);
    },
    [model]
  );
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
      {connection.status === 'ok' && (
        <HomeContext.Provider value={connection.home ?? ''}>
          <ShowRunContext.Provider value={showRun}>
            <Body model={model} actions={actions} />
          </ShowRunContext.Provider>
        </HomeContext.Provider>
      )}
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
          aria-label="Refresh the runs"
          onClick={() => void model.retry()}
        >
          <refreshIcon.react tag="span" className="nbrepro-icon" />
        </button>
        <button
          className="jp-Button jp-mod-styled jp-mod-accept nbrepro-button nbrepro-capture-button"
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
  const { value, problem, notebook } = model.capture;
  // Tied to its notebook: another notebook in focus does not show it.
  if ((!value && !problem) || (notebook !== null && notebook !== model.notebookPath)) {
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
        <h3 data-testid="nbrepro-comparison-title">
          Compare <RunName model={model} runId={comparison.a} /> with{' '}
          <RunName model={model} runId={comparison.b} />
        </h3>
        {comparison.loading && <div className="nbrepro-loading">Comparing…</div>}
        {comparison.problem && (
          <ProblemView
            problem={comparison.problem}
            onRetry={() => void model.compare(comparison.a, comparison.b)}
          />
        )}
        {comparison.value && <ReportView report={comparison.value} images={model.cellImages} />}
      </div>
    );
  }
  if (model.selectedRunId) {
    return <RunDetailsView model={model} openPath={actions.openPath} />;
  }
  return <RunList model={model} />;
}

/** A run by its name (its id on hover), or its short id when it is not listed. */
function RunName({ model, runId }: { model: ReproModel; runId: string }): JSX.Element {
  const row = model.runs.rows.find(r => r.run_id === runId);
  return (
    <span className="nbrepro-run-ref" title={runId}>
      {row ? runLabel(row) : shortId(runId)}
    </span>
  );
}
