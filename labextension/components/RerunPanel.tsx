import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { DataMode, EnvMode, Job } from '../api-types';
import type { ReproModel } from '../model';
import { isTerminal } from '../jobs';
import { dataProblem } from './deltaLog';
import { when } from './format';
import { ProblemView } from './ProblemView';
import type { ImagesSource } from './ImageDiff';
import { ReportView } from './ReportView';
import { RunRef } from './RunRef';

/** "Re-execute this run": options, progress while it runs, then the verdict and report. */
export function RerunPanel({ model, runId }: { model: ReproModel; runId: string }): JSX.Element {
  const [env, setEnv] = React.useState<EnvMode>(model.settings.rerunEnv);
  const [data, setData] = React.useState<DataMode>(model.settings.rerunData);
  const [repeat, setRepeat] = React.useState<number>(1);
  const entry = model.jobOf(runId);
  const job = entry?.job ?? null;
  const inFlight = job !== null && !isTerminal(job);
  return (
    <div className="nbrepro-rerun" data-testid="nbrepro-rerun">
      <div className="nbrepro-rerun-options">
        <label>
          Environment{' '}
          <HTMLSelect
            className="nbrepro-rerun-env"
            data-testid="nbrepro-rerun-env"
            value={env}
            disabled={inFlight}
            onChange={event => setEnv(event.target.value as EnvMode)}
            options={[
              { value: 'current', label: 'current' },
              { value: 'recorded', label: 'recorded (rebuilt)' }
            ]}
          />
        </label>
        <label>
          Data{' '}
          <HTMLSelect
            className="nbrepro-rerun-data"
            data-testid="nbrepro-rerun-data"
            value={data}
            disabled={inFlight}
            onChange={event => setData(event.target.value as DataMode)}
            options={[
              { value: 'pinned', label: 'pinned versions' },
              { value: 'latest', label: 'latest' }
            ]}
          />
        </label>
        <label title="Re-execute several times under the same pins and environment: reruns that disagree among themselves make the notebook nondeterministic, told apart from drift.">
          Times{' '}
          <HTMLSelect
            className="nbrepro-rerun-repeat"
            data-testid="nbrepro-rerun-repeat"
            value={repeat}
            disabled={inFlight}
            onChange={event => setRepeat(Number(event.target.value))}
            options={[
              { value: 1, label: 'once' },
              { value: 2, label: '2 (check nondeterminism)' },
              { value: 3, label: '3 (check nondeterminism)' }
            ]}
          />
        </label>
      </div>
      <div className="nbrepro-buttons">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept nbrepro-button nbrepro-rerun-button"
          data-testid="nbrepro-rerun-button"
          disabled={inFlight || entry?.busy === true}
          onClick={() => void model.rerun(runId, { env, data, repeat })}
        >
          Re-execute this run
        </button>
        {inFlight && (
          <button
            className="jp-Button jp-mod-styled jp-mod-warn nbrepro-button nbrepro-cancel-button"
            data-testid="nbrepro-cancel-button"
            disabled={entry?.busy === true}
            onClick={() => void model.cancel(runId)}
          >
            Cancel
          </button>
        )}
      </div>
      {entry?.problem && <ProblemView problem={entry.problem} inline />}
      {job && (
        <JobView
          job={job}
          images={model.cellImages}
          onLatest={
            entry?.busy
              ? undefined
              : () => {
                  setData('latest'); // the options say what runs now
                  void model.rerunOnLatest(runId);
                }
          }
        />
      )}
    </div>
  );
}

function JobView({
  job,
  images,
  onLatest
}: {
  job: Job;
  images?: ImagesSource;
  /** Starts the same rerun on the latest data; undefined while one is being started. */
  onLatest?: () => void;
}): JSX.Element {
  const { cells_done, cells_total, phase } = job.progress;
  const finished = when(job.finished_at);
  // Data it could not read, said in the sidebar's words (the error and the log are the
  // command line's, which name its flags).
  const unavailable = dataProblem(job);
  return (
    <div className="nbrepro-job" data-testid="nbrepro-job" data-state={job.state}>
      {!isTerminal(job) && (
        <div className="nbrepro-progress" data-testid="nbrepro-progress">
          {/* Indeterminate (moving) until the cells are counted: checking data, starting. */}
          {cells_total ? <progress value={cells_done} max={cells_total} /> : <progress />}
          <span className="nbrepro-progress-text">
            {cells_total ? `${cells_done} of ${cells_total} cells` : job.state} · {phase}
          </span>
        </div>
      )}
      {job.state === 'cancelled' && (
        <div className="nbrepro-job-state" data-testid="nbrepro-job-state">
          Cancelled · <span title={finished.full}>{finished.human}</span>
        </div>
      )}
      {job.state === 'failed' && unavailable && (
        <div
          className="nbrepro-job-error nbrepro-data-unavailable"
          data-testid="nbrepro-job-error"
          data-reason={job.error_reason?.code}
        >
          {unavailable.message}
          {unavailable.latest && (
            <div className="nbrepro-buttons">
              <button
                className="jp-Button jp-mod-styled jp-mod-accept nbrepro-button nbrepro-rerun-latest-button"
                data-testid="nbrepro-rerun-latest-button"
                disabled={onLatest === undefined}
                onClick={onLatest}
              >
                Re-execute on latest data
              </button>
            </div>
          )}
        </div>
      )}
      {job.state === 'failed' && !unavailable && (
        <div className="nbrepro-job-error" data-testid="nbrepro-job-error">
          The re-execution could not run: {job.error || `exit code ${job.exit_code}`}
        </div>
      )}
      {job.state === 'succeeded' && (
        <div className="nbrepro-job-state" data-testid="nbrepro-job-state">
          Re-executed
          {job.rerun_run_id && (
            <>
              {' '}
              as run <RunRef runId={job.rerun_run_id} />
            </>
          )}{' '}
          · <span title={finished.full}>{finished.human}</span>
        </div>
      )}
      {job.state === 'succeeded' && job.report && (
        <ReportView report={job.report} images={images} />
      )}
      {job.log_tail.length > 0 && !unavailable && (
        <details className="nbrepro-log" data-testid="nbrepro-log">
          <summary>Log</summary>
          <pre>{job.log_tail.join('\n')}</pre>
        </details>
      )}
    </div>
  );
}
