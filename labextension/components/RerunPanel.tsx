import * as React from 'react';

import type { DataMode, EnvMode, Job } from '../api-types';
import type { ReproModel } from '../model';
import { isTerminal } from '../jobs';
import { shortId, when } from './format';
import { ProblemView } from './ProblemView';
import { ReportView } from './ReportView';

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
          <select
            className="nbrepro-rerun-env"
            data-testid="nbrepro-rerun-env"
            value={env}
            disabled={inFlight}
            onChange={event => setEnv(event.target.value as EnvMode)}
          >
            <option value="current">current</option>
            <option value="recorded">recorded (rebuilt)</option>
          </select>
        </label>
        <label>
          Data{' '}
          <select
            className="nbrepro-rerun-data"
            data-testid="nbrepro-rerun-data"
            value={data}
            disabled={inFlight}
            onChange={event => setData(event.target.value as DataMode)}
          >
            <option value="pinned">pinned versions</option>
            <option value="latest">latest</option>
          </select>
        </label>
        <label title="Re-execute several times under the same pins and environment: reruns that disagree among themselves make the notebook nondeterministic, told apart from drift.">
          Times{' '}
          <select
            className="nbrepro-rerun-repeat"
            data-testid="nbrepro-rerun-repeat"
            value={repeat}
            disabled={inFlight}
            onChange={event => setRepeat(Number(event.target.value))}
          >
            <option value={1}>once</option>
            <option value={2}>2 (check nondeterminism)</option>
            <option value={3}>3 (check nondeterminism)</option>
          </select>
        </label>
      </div>
      <div className="nbrepro-buttons">
        <button
          className="jp-Button nbrepro-button nbrepro-accept nbrepro-rerun-button"
          data-testid="nbrepro-rerun-button"
          disabled={inFlight || entry?.busy === true}
          onClick={() => void model.rerun(runId, { env, data, repeat })}
        >
          Re-execute this run
        </button>
        {inFlight && (
          <button
            className="jp-Button nbrepro-button nbrepro-warn nbrepro-cancel-button"
            data-testid="nbrepro-cancel-button"
            disabled={entry?.busy === true}
            onClick={() => void model.cancel(runId)}
          >
            Cancel
          </button>
        )}
      </div>
      {entry?.problem && <ProblemView problem={entry.problem} inline />}
      {job && <JobView job={job} />}
    </div>
  );
}

function JobView({ job }: { job: Job }): JSX.Element {
  const { cells_done, cells_total, phase } = job.progress;
  const finished = when(job.finished_at);
  return (
    <div className="nbrepro-job" data-testid="nbrepro-job" data-state={job.state}>
      {!isTerminal(job) && (
        <div className="nbrepro-progress" data-testid="nbrepro-progress">
          <progress value={cells_done} max={cells_total || undefined} />
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
      {job.state === 'failed' && (
        <div className="nbrepro-job-error" data-testid="nbrepro-job-error">
          The re-execution could not run: {job.error || `exit code ${job.exit_code}`}
        </div>
      )}
      {job.state === 'succeeded' && (
        <div className="nbrepro-job-state" data-testid="nbrepro-job-state">
          Re-executed{job.rerun_run_id && ` as run ${shortId(job.rerun_run_id)}`} ·{' '}
          <span title={finished.full}>{finished.human}</span>
        </div>
      )}
      {job.state === 'succeeded' && job.report && <ReportView report={job.report} />}
      {job.log_tail.length > 0 && (
        <details className="nbrepro-log" data-testid="nbrepro-log">
          <summary>Log</summary>
          <pre>{job.log_tail.join('\n')}</pre>
        </details>
      )}
    </div>
  );
}
