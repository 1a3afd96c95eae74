import * as React from 'react';

import type { EnvironmentDrift, RegisteredModelVersion, RunDetails } from '../api-types';
import type { OpenWhich, ReproModel } from '../model';
import type { RunRecord } from '../record-types';
import { mlflowRunUrl } from '../settings';
import { pinLostText } from './deltaLog';
import { basename, formatBytes, formatNumber, plural, shortId, when } from './format';
import { Path } from './Path';
import { ProblemView } from './ProblemView';
import { RerunPanel } from './RerunPanel';
import { RunRef } from './RunRef';

export interface RunDetailsProps {
  model: ReproModel;
  /** Opens a path relative to the server root in JupyterLab; null when nothing can open it. */
  openPath: ((path: string) => Promise<unknown>) | null;
}

/**
 * The record sections of a run's details. The API schema leaves them open and points
 * to the record's schema (nbrepro/schema/repro-1.schema.json), whose types these are.
 */
function recordOf(details: RunDetails) {
  return {
    run: details.record.run as RunRecord['run'],
    code: details.record.code as RunRecord['code'],
    data: details.record.data as RunRecord['data']
  };
}

/** A text field of an open object (the environment summary's python, os, hardware, git). */
function field(obj: { [key: string]: unknown } | null | undefined, key: string): string | null {
  const value = obj?.[key];
  return value === null || value === undefined || value === '' ? null : String(value);
}

/** What the selected run captured: code, data, environment, params and metrics. */
export function RunDetailsView({ model, openPath }: RunDetailsProps): JSX.Element {
  const runId = model.selectedRunId ?? '';
  const { value: details, loading, problem } = model.details;
  const row = model.selectedRow;
  return (
    <div className="nbrepro-run-details" data-testid="nbrepro-run-details" data-run-id={runId}>
      <button
        className="jp-Button nbrepro-button nbrepro-back-button"
        data-testid="nbrepro-back-button"
        onClick={() => void model.select(null)}
      >
        ← Runs
      </button>
      <h3 className="nbrepro-run-title">
        {(details && recordOf(details).run.run_name) || row?.run_name || shortId(runId)}
      </h3>
      {loading && <div className="nbrepro-loading">Loading the run…</div>}
      {problem && <ProblemView problem={problem} onRetry={() => void model.select(runId)} />}
      {details && (
        <>
          <RunHeader details={details} model={model} openPath={openPath} />
          <RerunPanel key={runId} model={model} runId={runId} />
          <CodeSection details={details} />
          <DataSection details={details} />
          <EnvironmentSection details={details} model={model} />
          <ValuesTable title="Params" testid="params" values={details.params} />
          <ValuesTable title="Metrics" testid="metrics" values={details.metrics} />
          {details.models && details.models.length > 0 && <ModelsSection models={details.models} />}
        </>
      )}
    </div>
  );
}

function RunHeader({ details, model, openPath }: RunDetailsProps & { details: RunDetails }) {
  const { run, code } = recordOf(details);
  const created = when(details.record.created_at);
  const mlflow = mlflowRunUrl(model.settings.mlflowUiAddress, run.experiment_id, details.run_id);
  const opening = model.opening;
  const open = (which: OpenWhich) =>
    void model.openCaptured(details.run_id, which, openPath ?? undefined);
  const disabled = openPath === null || opening.loading;
  const doc = code.document.path ? basename(code.document.path) : 'the notebook';
  return (
    <div className="nbrepro-run-header">
      <div className="nbrepro-run-facts">
        <span title={details.run_id}>run {shortId(details.run_id)}</span> ·{' '}
        <span className={`nbrepro-run-status nbrepro-status-${details.status.toLowerCase()}`}>
          {details.status.toLowerCase()}
        </span>{' '}
        · <span title={created.full}>{created.human}</span>
        {run.experiment_name && <> · experiment {run.experiment_name}</>}
      </div>
      {run.error && (
        <div className="nbrepro-run-error">
          {run.error.ename}: {run.error.evalue}
        </div>
      )}
      {typeof run.reproduces === 'string' && (
        <div data-testid="nbrepro-reproduces">
          Re-execution of run <RunRef runId={run.reproduces} />
        </div>
      )}
      <div className="nbrepro-buttons">
        <button
          className="jp-Button nbrepro-button nbrepro-open-notebook"
          data-testid="nbrepro-open-notebook"
          disabled={disabled}
          title="Open the code as the kernel executed it, in execution order (a copy of the run's replay, which a rerun executes)"
          onClick={() => open('replay')}
        >
          {opening.loading && opening.which === 'replay' ? 'Opening…' : 'Open captured notebook'}
        </button>
        {code.document.available && (
          <button
            className="jp-Button nbrepro-button nbrepro-open-document"
            data-testid="nbrepro-open-document"
            disabled={disabled}
            title={`Open a copy of ${doc} as it was saved when the run was captured`}
            onClick={() => open('document')}
          >
            {opening.loading && opening.which === 'document'
              ? 'Opening…'
              : 'Open document as captured'}
          </button>
        )}
        {mlflow && (
          <a
            className="jp-Button nbrepro-button nbrepro-open-mlflow"
            data-testid="nbrepro-open-mlflow"
            href={mlflow}
            target="_blank"
            rel="noopener noreferrer"
          >
            Open in MLflow
          </a>
        )}
      </div>
      {opening.problem && <ProblemView problem={opening.problem} inline />}
      {details.record.warnings.length > 0 && (
        <ul className="nbrepro-warnings" data-testid="nbrepro-warnings">
          {details.record.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Section({
  name,
  title,
  children
}: {
  name: string;
  title: string;
  children: React.ReactNode;
}) {
  return (
    <section
      className={`nbrepro-section nbrepro-section-${name}`}
      data-testid={`nbrepro-section-${name}`}
    >
      <h4>{title}</h4>
      {children}
    </section>
  );
}

function CodeSection({ details }: { details: RunDetails }): JSX.Element {
  const { cells, document, hidden_state } = recordOf(details).code;
  return (
    <Section name="code" title="Code">
      <div>
        {plural(cells.length, 'cell')} executed
        {document.cell_count !== null &&
          document.cell_count !== undefined &&
          ` (the notebook has ${plural(document.cell_count, 'cell')})`}
        {document.path && <> in {basename(document.path)}</>}
        {!document.available && document.missing_reason && (
          <> · notebook not recorded: {document.missing_reason}</>
        )}
      </div>
      {hidden_state.hidden && (
        <div className="nbrepro-hidden-state" data-testid="nbrepro-hidden-state">
          <b>Hidden state:</b> what the kernel ran is not what the notebook shows. A rerun replays
          the executed order, not the document order.
          <ul>
            {hidden_state.explanations.map((text, i) => (
              <li key={i}>{text}</li>
            ))}
          </ul>
        </div>
      )}
    </Section>
  );
}

/** How a read reached the table: `via spark · table wine`. */
export function readSource(read: { via?: string; table_name?: string }): string {
  const parts = [`via ${read.via ?? 'deltalake'}`];
  if (read.table_name) {
    parts.push(`table ${read.table_name}`);
  }
  return ` · ${parts.join(' · ')}`;
}

function DataSection({ details }: { details: RunDetails }): JSX.Element {
  const { reads, writes, notes } = recordOf(details).data;
  const drift = details.drift;
  return (
    <Section name="data" title="Data">
      {reads.length === 0 && <div>No Delta table read.</div>}
      <ul className="nbrepro-detail-list">
        {reads.map((read, i) => {
          const d = drift.find(t => t.uri === read.uri && t.version_read === read.version);
          const moved = d !== undefined && d.state !== 'current';
          const lost = d ? pinLostText(read.version, d.pin) : null;
          return (
            <li key={i} className="nbrepro-table" data-testid="nbrepro-table" title={read.uri}>
              <Path className="nbrepro-table-uri" text={read.uri} /> v{read.version}
              {read.pinned_by_user ? ' (version named by the code)' : ''}
              <span className="nbrepro-via" data-testid="nbrepro-read-via">
                {readSource(read)}
              </span>
              {d && d.state === 'current' && <span className="nbrepro-same"> · still current</span>}
              {moved && (
                <span
                  className="nbrepro-drift-warning"
                  data-testid="nbrepro-drift-warning"
                  data-state={d.state}
                  title={d.detail}
                >
                  {' '}
                  ⚠{' '}
                  {d.state === 'moved'
                    ? `v${read.version} read, table now at v${d.current_version}`
                    : d.detail}
                </span>
              )}
              {lost && (
                <div
                  className="nbrepro-pin-lost"
                  data-testid="nbrepro-pin-lost"
                  data-reason={d?.pin?.reason ?? ''}
                  title={d?.pin?.detail}
                >
                  {lost}. A re-execution on pinned data cannot read it; one on the latest data runs
                  the same code on today&apos;s data.
                </div>
              )}
            </li>
          );
        })}
        {writes.map((w, i) => (
          <li key={`w${i}`} title={w.uri}>
            wrote <Path text={w.uri} /> → v{w.version ?? '?'}
          </li>
        ))}
      </ul>
      {notes.map((note, i) => (
        <div key={i} className="nbrepro-note">
          {note}
        </div>
      ))}
    </Section>
  );
}

function EnvironmentSection({
  details,
  model
}: {
  details: RunDetails;
  model: ReproModel;
}): JSX.Element {
  const env = details.environment;
  const hw = env.hardware;
  const gpus = Array.isArray(hw?.gpus) ? hw.gpus.length : 0;
  const os = field(env.os, 'system');
  const commit = field(env.git, 'commit');
  const { value: drift, loading, problem } = model.environment;
  return (
    <Section name="environment" title="Environment">
      <div>
        Python {field(env.python, 'version') ?? '?'} ({field(env.python, 'implementation') ?? '?'})
        · {plural(env.packages, 'package')}
        {os && ` · ${os} ${field(env.os, 'machine') ?? ''}`}
      </div>
      {hw && (
        <div>
          {field(hw, 'cpu_model') ?? 'CPU'} ×{field(hw, 'logical_cores') ?? '?'} ·{' '}
          {formatBytes(Number(hw.memory_bytes) || null)}
          {gpus > 0 && ` · ${plural(gpus, 'GPU')}`}
        </div>
      )}
      {commit && (
        <div>
          git {commit.slice(0, 10)} on {field(env.git, 'branch') ?? 'detached HEAD'}
          {env.git?.dirty ? ' (uncommitted changes)' : ''}
        </div>
      )}
      {loading && <div className="nbrepro-loading">Comparing with the running kernel…</div>}
      {problem &&
        (problem.kind === 'kernel' ? (
          <div className="nbrepro-note" data-testid="nbrepro-kernel-missing">
            No running kernel to compare with: start the notebook&apos;s kernel to see the drift.
          </div>
        ) : (
          <ProblemView problem={problem} inline onRetry={() => void model.loadEnvironment()} />
        ))}
      {drift && <DriftView drift={drift} />}
    </Section>
  );
}

function DriftView({ drift }: { drift: EnvironmentDrift }): JSX.Element {
  const against =
    drift.against === 'kernel'
      ? `the running kernel${drift.kernel ? ` (${drift.kernel})` : ''}`
      : "the Jupyter server's Python";
  // Not silently: the kernel a rerun would use is not what was compared.
  const noKernel = drift.against !== 'kernel' && (
    <div className="nbrepro-note" data-testid="nbrepro-kernel-missing">
      The notebook&apos;s kernel is not running: compared with the Jupyter server&apos;s Python
      instead. Start the kernel to compare with it.
    </div>
  );
  if (drift.same) {
    return (
      <div className="nbrepro-same" data-testid="nbrepro-env-drift" data-same="true">
        {noKernel}
        Same packages as {against}.
      </div>
    );
  }
  const pk = drift.packages;
  return (
    <div className="nbrepro-env-drift" data-testid="nbrepro-env-drift" data-same="false">
      {noKernel}
      <div className="nbrepro-drift-warning">
        ⚠ Drift against {against}: {pk.added.length} added, {pk.removed.length} removed,{' '}
        {pk.changed.length} changed
        {drift.python[0] !== drift.python[1] && `; Python ${drift.python[0]} → ${drift.python[1]}`}
      </div>
      <details>
        <summary>Packages</summary>
        <ul className="nbrepro-detail-list">
          {pk.changed.map(c => (
            <li key={`c${c.name}`}>
              {c.name} {c.old} → {c.new}
            </li>
          ))}
          {pk.added.map(p => (
            <li key={`a${p.name}`}>
              + {p.name} {p.version}
            </li>
          ))}
          {pk.removed.map(p => (
            <li key={`r${p.name}`}>
              − {p.name} {p.version}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

/** The model versions registered from the run, and whether each was rebuilt. */
function ModelsSection({ models }: { models: RegisteredModelVersion[] }): JSX.Element {
  return (
    <Section name="models" title="Registered models">
      <table className="nbrepro-values">
        <tbody>
          {models.map(m => (
            <tr key={`${m.name}/${m.version}`} data-testid="nbrepro-model-version">
              <td>
                {m.name} v{m.version}
                {m.aliases.map(alias => ` @${alias}`).join('')}
              </td>
              <td>
                {m.verdict ? (
                  <span
                    className={`nbrepro-verdict nbrepro-verdict-${m.verdict}`}
                    title={
                      m.last_rerun
                        ? `nbrepro rerun models:/${m.name}/${m.version}: run ${m.last_rerun}`
                        : undefined
                    }
                  >
                    {m.verdict}
                  </span>
                ) : (
                  <span
                    className="nbrepro-note"
                    title={`No verdict yet: nbrepro rerun models:/${m.name}/${m.version} writes one`}
                  >
                    not checked
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function ValuesTable({
  title,
  testid,
  values
}: {
  title: string;
  testid: string;
  values: { [name: string]: string | number | undefined };
}): JSX.Element {
  const names = Object.keys(values).sort();
  return (
    <Section name={testid} title={title}>
      {names.length === 0 ? (
        <div className="nbrepro-note">None logged.</div>
      ) : (
        <table className="nbrepro-values">
          <tbody>
            {names.map(name => (
              <tr key={name}>
                <td>{name}</td>
                <td>{formatNumber(values[name])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
