import * as React from 'react';

import type { ModelRow, Report, ReportSections, ValueComparison, Verdict } from '../api-types';
import { formatNumber, plural, shortId } from './format';

type SectionName = keyof ReportSections;

/** The report's sections, causes before effects (as nbrepro/compare.py orders them). */
const SECTION_NAMES: SectionName[] = [
  'data',
  'environment',
  'code',
  'params',
  'metrics',
  'outputs',
  'model'
];

/** Sections named by a singular noun: "code differs", "outputs differ". */
const SINGULAR = new Set(['code', 'model']);

const VERDICT_TEXT: Record<Verdict, string> = {
  reproduced: 'Reproduced',
  differs: 'Differs',
  failed: 'Failed'
};

/** The reproduction report: the verdict, then each section, same or differs. */
export function ReportView({ report }: { report: Report }): JSX.Element {
  const { sections, failure, notes } = report;
  // Reports saved by an older nbrepro lack the newer fields.
  const reproducedFailure = report.failure_reproduced ?? null;
  const volatile = report.volatile ?? { ignored: false, kinds: [], only: false };
  return (
    <div className="nbrepro-report" data-testid="nbrepro-report">
      <div
        className={`nbrepro-report-verdict nbrepro-verdict-${report.verdict}`}
        data-testid="nbrepro-report-verdict"
        data-verdict={report.verdict}
      >
        {VERDICT_TEXT[report.verdict]}
        {report.differs.length > 0 && report.verdict !== 'failed' && (
          <span>
            : {report.differs.join(', ')}{' '}
            {SINGULAR.has(report.differs.join()) ? 'differs' : 'differ'}
          </span>
        )}
      </div>
      {report.repeat && (
        <div
          className={`nbrepro-report-repeat ${report.repeat.agree ? 'nbrepro-same' : 'nbrepro-differs'}`}
          data-testid="nbrepro-report-repeat"
          data-agree={String(report.repeat.agree)}
        >
          {report.repeat.agree
            ? `The ${report.repeat.runs.length} reruns agree with each other.`
            : `Nondeterministic: the ${report.repeat.runs.length} reruns disagree among themselves` +
              (report.repeat.first_divergence
                ? `, first at ${report.repeat.first_divergence.label}.`
                : '.')}
        </div>
      )}
      {report.verdict === 'differs' && volatile.only && (
        <div className="nbrepro-report-volatile" data-testid="nbrepro-report-volatile">
          Only volatile values differ ({volatile.kinds.join(', ')}): the notebook prints something
          that changes on every run.
        </div>
      )}
      {volatile.ignored && volatile.kinds.length > 0 && (
        <div className="nbrepro-report-volatile" data-testid="nbrepro-report-volatile">
          Volatile values ignored: {volatile.kinds.join(', ')}.
        </div>
      )}
      {reproducedFailure && report.verdict === 'reproduced' && (
        <div
          className="nbrepro-report-failure nbrepro-report-failure-reproduced"
          data-testid="nbrepro-report-failure-reproduced"
        >
          The original&apos;s failure reproduced: {reproducedFailure.label} raised{' '}
          {reproducedFailure.ename}: {reproducedFailure.evalue}
        </div>
      )}
      <div className="nbrepro-report-runs">
        run {shortId(report.rerun)} against {shortId(report.original)}
        {report.data_mode && ` · data ${report.data_mode}`}
        {report.env_mode && ` · environment ${report.env_mode}`}
      </div>
      {failure && (
        <div className="nbrepro-report-failure" data-testid="nbrepro-report-failure">
          {failure.cell ?? `Cell ${failure.cell_index}`} raised {failure.ename}: {failure.evalue}
        </div>
      )}
      <ul className="nbrepro-report-sections">
        {SECTION_NAMES.map(name => {
          const section = sections[name];
          if (!section) {
            return null; // the model section: only when either run logged a model
          }
          const same = section.same;
          // Environment drift is reported, but alone does not make a run differ.
          const label = same ? 'same' : name === 'environment' ? 'drift' : 'differs';
          return (
            <li
              key={name}
              className={`nbrepro-report-section ${same ? 'nbrepro-same' : 'nbrepro-differs'}`}
              data-testid="nbrepro-report-section"
              data-section={name}
              data-same={String(same)}
            >
              <span className="nbrepro-report-section-name">{name}</span>
              <span className="nbrepro-report-section-state">
                {label}
                {same &&
                  (name === 'params' || name === 'metrics') &&
                  ` (${sections[name].compared} compared)`}
              </span>
              {!same && <SectionDetail sections={sections} name={name} />}
            </li>
          );
        })}
      </ul>
      {notes.length > 0 && (
        <ul className="nbrepro-report-notes">
          {notes.map((note, i) => (
            <li key={i}>{note}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What differs in one section. */
function SectionDetail({
  sections,
  name
}: {
  sections: ReportSections;
  name: SectionName;
}): JSX.Element | null {
  switch (name) {
    case 'data':
      return (
        <ul className="nbrepro-detail-list">
          {sections.data.tables
            .filter(t => !t.same)
            .map(t => (
              <li key={t.uri} title={t.uri}>
                {t.uri}: {t.note}
              </li>
            ))}
        </ul>
      );
    case 'environment': {
      const env = sections.environment;
      const pk = env.packages;
      return (
        <ul className="nbrepro-detail-list">
          {pk.python && (
            <li>
              Python {pk.python.old} → {pk.python.new}
            </li>
          )}
          <li>
            {plural(pk.added.length, 'package')} added, {pk.removed.length} removed,{' '}
            {pk.changed.length} changed
          </li>
          {pk.changed.slice(0, 10).map(c => (
            <li key={c.name}>
              {c.name} {c.old} → {c.new}
            </li>
          ))}
          {Object.entries(env.system).map(([key, change]) => (
            <li key={key}>
              {key}: {String(change.original)} → {String(change.rerun)}
            </li>
          ))}
        </ul>
      );
    }
    case 'code':
      return (
        <div className="nbrepro-detail">
          <span className="nbrepro-code-summary">{sections.code.summary}</span>
          {sections.code.changes
            .filter(c => c.diff)
            .slice(0, 5)
            .map((c, i) => (
              <details key={i}>
                <summary>
                  cell {c.index_a ?? c.index_b} {c.kind}
                </summary>
                <pre className="nbrepro-diff">{c.diff}</pre>
              </details>
            ))}
        </div>
      );
    case 'params':
    case 'metrics':
      return <ValuesDetail values={sections[name].values} />;
    case 'outputs': {
      const out = sections.outputs;
      return (
        <div className="nbrepro-detail">
          {plural(out.compared, 'cell')} compared
          {out.failures && !out.failures.same && (
            <div className="nbrepro-outputs-failures">
              the original{' '}
              {out.failures.original
                ? `failed at ${out.failures.original.label} (${out.failures.original.ename})`
                : 'completed'}
              , the rerun{' '}
              {out.failures.rerun
                ? `failed at ${out.failures.rerun.label} (${out.failures.rerun.ename})`
                : 'completed'}
            </div>
          )}
          {(out.not_rerun ?? []).length > 0 && (
            <div className="nbrepro-outputs-failures">
              not run by the rerun: {out.not_rerun.slice(0, 10).join(', ')}
            </div>
          )}
          {out.cells.slice(0, 5).map(cell => (
            <details key={cell.cell}>
              <summary>
                {cell.label ?? `cell ${cell.cell}`}
                {cell.images_differ && ' (images differ)'}
                {(cell.volatile ?? []).length > 0 &&
                  ` (volatile: ${cell.volatile.join(', ')}${cell.counted ? '' : ', not counted'})`}
              </summary>
              <pre className="nbrepro-diff">{cell.diff}</pre>
            </details>
          ))}
        </div>
      );
    }
    case 'model': {
      const rows = (sections.model?.models ?? []).filter(row => !row.same);
      return (
        <ul className="nbrepro-detail-list">
          {rows.map(row => (
            <li key={row.name}>
              {row.name}: {modelDifference(row)}
            </li>
          ))}
        </ul>
      );
    }
    default:
      return null;
  }
}

/** What makes two logged models of one name not the same model. */
function modelDifference(row: ModelRow): string {
  if (row.note && !row.flavors) {
    return row.note;
  }
  const parts = (['flavors', 'signature', 'requirements'] as const)
    .filter(part => row[part] && !row[part]?.same)
    .map(part => `${part} differ`);
  const predictions = row.predictions;
  if (predictions?.same === false) {
    const worst = predictions.max_difference;
    parts.push(
      'predictions differ' +
        (typeof worst === 'number' ? ` (max difference ${formatNumber(worst)})` : '')
    );
  }
  return parts.join(', ') || row.note || 'differs';
}

/** The params or metrics that differ: name, original, rerun. */
function ValuesDetail({ values }: { values: ValueComparison[] }): JSX.Element {
  const differing = values.filter(v => !v.same);
  return (
    <table className="nbrepro-values nbrepro-values-differ">
      <tbody>
        {differing.map(v => (
          <tr key={v.name} data-testid="nbrepro-differing-value">
            <td>{v.name}</td>
            <td>{formatNumber(v.original)}</td>
            <td>→</td>
            <td>{formatNumber(v.rerun)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
