import * as React from 'react';

import type { RunRow } from '../api-types';
import type { ReproModel } from '../model';
import { isTerminal } from '../jobs';
import { headlineMetric } from '../settings';
import { formatNumber, when } from './format';
import { ProblemView } from './ProblemView';

/** How often relative times ("a minute ago") are told again (ms). */
const TIME_TICK_MS = 15000;

/** The time now, updated every ``ms``. */
function useNow(ms: number): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** The runs of the notebook in focus (or of the experiment), newest first, paged. */
export function RunList({ model }: { model: ReproModel }): JSX.Element {
  const { runs, checked } = model;
  // "2 minutes ago" keeps counting while the list is shown.
  const now = useNow(TIME_TICK_MS);
  if (model.scope === 'notebook' && !model.notebookPath) {
    return (
      <div className="nbrepro-empty" data-testid="nbrepro-empty">
        Open a notebook to see its runs, or show all runs.
      </div>
    );
  }
  return (
    <div className="nbrepro-run-list" data-testid="nbrepro-run-list">
      {runs.problem && <ProblemView problem={runs.problem} onRetry={() => void model.retry()} />}
      {runs.loaded && runs.rows.length === 0 && !runs.problem && <EmptyRuns model={model} />}
      {checked.length > 0 && (
        <div className="nbrepro-compare-bar">
          <span>{checked.length === 2 ? '2 runs ticked' : 'Tick one more run to compare'}</span>
          <button
            className="jp-Button jp-mod-styled jp-mod-accept nbrepro-button nbrepro-compare-button"
            data-testid="nbrepro-compare-button"
            disabled={checked.length !== 2}
            title="Compare the two ticked runs (the older one as the original)"
            onClick={() => void model.compareChecked()}
          >
            Compare
          </button>
        </div>
      )}
      <ul className="nbrepro-runs" role="list">
        {runs.rows.map(row => {
          const job = model.jobOf(row.run_id)?.job;
          return (
            <RunRowView
              key={row.run_id}
              row={row}
              model={model}
              checked={checked.includes(row.run_id)}
              selected={model.selectedRunId === row.run_id}
              running={job !== null && job !== undefined && !isTerminal(job)}
              headline={model.settings.headlineMetric}
              now={now}
            />
          );
        })}
      </ul>
      {runs.loading && (
        <div className="nbrepro-loading" data-testid="nbrepro-loading">
          Loading runs…
        </div>
      )}
      {runs.nextPageToken && !runs.loading && (
        <button
          className="jp-Button nbrepro-button nbrepro-load-more"
          data-testid="nbrepro-load-more"
          onClick={() => void model.loadMore()}
        >
          Load more
        </button>
      )}
    </div>
  );
}

function EmptyRuns({ model }: { model: ReproModel }): JSX.Element {
  if (model.scope === 'experiment') {
    const where = model.settings.defaultExperiment
      ? `experiment "${model.settings.defaultExperiment}"`
      : 'this tracking store';
    return (
      <div className="nbrepro-empty" data-testid="nbrepro-empty">
        No nbrepro runs in {where} yet.
      </div>
    );
  }
  return (
    <div className="nbrepro-empty" data-testid="nbrepro-empty">
      <p>No runs yet for this notebook.</p>
      <p>
        Add <code>%%repro</code> to a cell (after <code>%load_ext nbrepro</code>) and run it, or
        click <b>Capture run</b> to record the kernel session as it is.
      </p>
    </div>
  );
}

interface RowProps {
  row: RunRow;
  model: ReproModel;
  checked: boolean;
  selected: boolean;
  running: boolean;
  headline: string;
  /** The clock the row's relative time is told against (a tick re-renders it). */
  now: number;
}

/**
 * One run. Memoized on its props (the model object never changes): with a thousand
 * rows listed, a job's progress re-renders only the rows whose props changed.
 */
const RunRowView = React.memo(function RunRowView({
  row,
  model,
  checked,
  selected,
  running,
  headline,
  now
}: RowProps): JSX.Element {
  const started = when(row.start_time, now);
  const metric = headlineMetric(row.metrics, headline);
  const outcomes = row.outcomes;
  // An original's pinned and latest-data reruns say different things ("does not
  // reproduce" against "the data moved since"): each has its own chip.
  const pinned = outcomes?.pinned ?? null;
  const latest = outcomes?.latest ?? null;
  const main = outcomes ? (pinned?.verdict ?? null) : row.verdict;
  const verdict = running ? 'running' : (main ?? 'none');
  const verdictText = running
    ? 're-running…'
    : main
      ? `${main}${pinned ? ' (pinned)' : ''}`
      : row.reproduces
        ? 'rerun'
        : latest
          ? 'not re-run on pinned data'
          : 'not re-run yet';
  // Pinned and latest outcomes on a line of their own, under the name.
  const apart = outcomes !== null && !running;
  const mainChip = (
    <span
      className={`nbrepro-verdict nbrepro-verdict-${verdict}`}
      data-testid="nbrepro-verdict"
      data-verdict={verdict}
    >
      {verdictText}
    </span>
  );
  const select = () => void model.select(row.run_id);
  return (
    <li
      className={`nbrepro-run-row${selected ? ' jp-mod-selected' : ''}`}
      data-testid="nbrepro-run-row"
      data-run-id={row.run_id}
      tabIndex={0}
      onClick={select}
      onKeyDown={event => {
        if (event.key === 'Enter') {
          select();
        }
      }}
    >
      <input
        type="checkbox"
        className="nbrepro-run-check"
        data-testid="nbrepro-run-check"
        title="Select to compare"
        checked={checked}
        onClick={event => event.stopPropagation()}
        onChange={() => model.toggleChecked(row.run_id)}
      />
      <div className="nbrepro-run-main">
        <div className="nbrepro-run-line">
          <span
            className="nbrepro-run-name"
            data-testid="nbrepro-run-name"
            title={`${row.run_name ?? ''} (${row.run_id})`}
          >
            {runLabel(row)}
          </span>
          {row.data_changed === true && (
            <span
              className="nbrepro-drift-warning"
              data-testid="nbrepro-drift-warning"
              title={`Data changed since this run: ${row.changed_tables.join(', ') || 'a table it read moved'}`}
            >
              ⚠
            </span>
          )}
          {row.hidden_state && (
            <span
              className="nbrepro-hidden-state-mark"
              data-testid="nbrepro-hidden-state-mark"
              title="Hidden state: the cells ran out of order or were edited after running"
            >
              ◐
            </span>
          )}
          {!apart && mainChip}
        </div>
        {apart && (
          <div className="nbrepro-run-line nbrepro-run-outcomes">
            {mainChip}
            {latest && (
              <span
                className={`nbrepro-verdict nbrepro-verdict-${latest.verdict} nbrepro-verdict-latest`}
                data-testid="nbrepro-verdict-latest"
                data-verdict={latest.verdict}
                title="The latest re-execution on the tables' latest versions"
              >
                {latest.verdict} on latest{latest.data ? ` ${latest.data}` : ' data'}
              </span>
            )}
          </div>
        )}
        <div className="nbrepro-run-line nbrepro-run-meta">
          <span className="nbrepro-run-time" title={started.full}>
            {started.human}
          </span>
          <span
            className={`nbrepro-run-status nbrepro-status-${row.status.toLowerCase()}`}
            data-testid="nbrepro-run-status"
          >
            {row.status.toLowerCase()}
          </span>
          {metric && (
            <span
              className="nbrepro-run-metric"
              data-testid="nbrepro-run-metric"
              title={metric.name}
            >
              {metric.name} {formatNumber(metric.value)}
            </span>
          )}
        </div>
      </div>
    </li>
  );
});

/**
 * A run's name; a rerun's says the data it read ("rerun of baseline · pinned v0"), also
 * when an older nbrepro named it.
 */
export function runLabel(row: RunRow): string {
  const name = row.run_name || row.run_id.slice(0, 8);
  if (!row.reproduces) {
    return name;
  }
  // "rerun of baseline · pinned v0": the list is the notebook's, the mode is what tells
  // reruns apart ("rerun · pinned v0"); the full name is the row's tooltip.
  const mode = /^rerun of .* · (.+)$/.exec(name);
  if (mode) {
    return `rerun · ${mode[1]}`;
  }
  return row.data_mode ? `${name} · ${row.data_mode}` : name;
}
