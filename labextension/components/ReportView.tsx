import * as React from 'react';

import type { ModelRow, Report, ReportSections, ValueComparison, Verdict } from '../api-types';
import { formatNumber, plural } from './format';
import { Path } from './Path';
import { RunRef } from './RunRef';
import { codeChangeLabel, failureLabel } from './cellLabels';
import { DiffView } from './DiffView';
import { DeltaLogChangesView } from './DeltaLogChanges';
import { type ImagesSource } from './ImageDiff';
import { OutputsDetail } from './OutputsDetail';

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

const VERDICT_TEXT: Record<Verdict, string> = {
  reproduced: 'Reproduced',
  differs: 'Differs',
  failed: 'Failed'
};

/** The verdict in one line, as the card says it: "Differs in data, metrics". */
export function verdictHeadline(report: Pick<Report, 'verdict' | 'differs'>): string {
  const text = VERDICT_TEXT[report.verdict];
  return report.verdict === 'differs' && report.differs.length > 0
    ? `${text} in ${report.differs.join(', ')}`
    : text;
}

/** The reproduction report: the verdict, then each section, same or differs. */
export function ReportView({
  report,
  images
}: {
  report: Report;
  /** Where the images of differing image cells come from (ReproModel.cellImages). */
  images?: ImagesSource;
}): JSX.Element {
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
        {verdictHeadline(report)}
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
        run <RunRef runId={report.rerun} /> against <RunRef runId={report.original} />
        {report.data_mode && ` · data ${report.data_mode}`}
        {report.env_mode && ` · environment ${report.env_mode}`}
      </div>
      {failure && (
        <div className="nbrepro-report-failure" data-testid="nbrepro-report-failure">
          {failureLabel(failure)} raised {failure.ename}: {failure.evalue}
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
              {!same && (
                <SectionDetail sections={sections} name={name} report={report} images={images} />
              )}
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
  name,
  report,
  images
}: {
  sections: ReportSections;
  name: SectionName;
  report: Report;
  images?: ImagesSource;
}): JSX.Element | null {
  switch (name) {
    case 'data':
      return (
        <ul className="nbrepro-detail-list">
          {sections.data.tables
            .filter(t => !t.same)
            .map(t => (
              <li key={t.uri} title={t.uri} data-testid="nbrepro-report-table">
                <Path text={t.uri} />
                {/* The log's changes name the versions ("v0 → v4: ..."); reports from
                    before nbrepro read the Delta log have only the note. */}
                {t.changes ? <DeltaLogChangesView changes={t.changes} /> : `: ${t.note}`}
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
              <details key={i} data-testid="nbrepro-code-change">
                <summary>
                  {codeChangeLabel(c)} {c.kind}
                </summary>
                <DiffView diff={c.diff} />
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
        <OutputsDetail out={out} original={report.original} rerun={report.rerun} images={images} />
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

/** The params or metrics that differ: name, original, rerun, the change and the
 * tolerance it was compared with. */
function ValuesDetail({ values }: { values: ValueComparison[] }): JSX.Element {
  const differing = values.filter(v => !v.same);
  const tolerances = new Set(
    differing.map(v => v.tolerance).filter((t): t is number => typeof t === 'number')
  );
  return (
    <>
      <table className="nbrepro-values nbrepro-values-differ">
        <tbody>
          {differing.map(v => {
            const change = valueChange(v.original, v.rerun);
            return (
              <React.Fragment key={v.name}>
                <tr data-testid="nbrepro-differing-value">
                  <td>{v.name}</td>
                  <td>{formatNumber(v.original)}</td>
                  <td>→</td>
                  <td>{formatNumber(v.rerun)}</td>
                </tr>
                {change && (
                  <tr className="nbrepro-value-change-row">
                    <td />
                    <td
                      colSpan={3}
                      className={`nbrepro-value-change nbrepro-change-${change.sign}`}
                      data-testid="nbrepro-value-change"
                    >
                      {change.text}
                    </td>
                  </tr>
                )}
              </React.Fragment>
            );
          })}
        </tbody>
      </table>
      {tolerances.size > 0 && (
        <div className="nbrepro-tolerance" data-testid="nbrepro-tolerance">
          {toleranceText([...tolerances])}
        </div>
      )}
    </>
  );
}

/** How a number moved: "+0.012 (+2.4%)"; null when either side is not a number. */
export function valueChange(
  original: ValueComparison['original'],
  rerun: ValueComparison['rerun']
): { text: string; sign: 'up' | 'down' | 'none' } | null {
  if (typeof original !== 'number' || typeof rerun !== 'number') {
    return null;
  }
  const delta = rerun - original;
  const sign = delta > 0 ? 'up' : delta < 0 ? 'down' : 'none';
  const plus = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  const abs = `${plus}${formatNumber(Math.abs(delta))}`;
  if (original === 0) {
    return { text: abs, sign };
  }
  const pct = (Math.abs(delta) / Math.abs(original)) * 100;
  // One decimal ("12.5%", "20%"), two significant digits under 0.1% ("0.0010%").
  const shown =
    pct >= 100 ? pct.toFixed(0) : pct >= 0.1 ? String(Number(pct.toFixed(1))) : pct.toPrecision(2);
  return { text: `${abs} (${plus}${shown}%)`, sign };
}

/** The tolerance the values were compared with: "compared exactly", "relative tolerance 1e-06". */
export function toleranceText(tolerances: number[]): string {
  const sorted = [...tolerances].sort((a, b) => a - b);
  if (sorted.every(t => t === 0)) {
    return 'compared exactly (no tolerance)';
  }
  return `relative tolerance ${sorted.map(t => (t === 0 ? 'exact' : formatNumber(t))).join(', ')}`;
}
