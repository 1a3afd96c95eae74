import { homeRelative, relativeTime, when } from '../components/format';
import { runLabel } from '../components/RunList';
import type { RunRow } from '../api-types';
import { toleranceText, valueChange, verdictHeadline } from '../components/ReportView';

describe('relative times', () => {
  it('count to the clock given, as JupyterLab says them', () => {
    const start = '2024-05-01T10:00:00Z';
    const t0 = Date.parse(start);
    expect(when(start, t0 + 1000).human).toBe('1 second ago');
    // The same row told again 20 s later says so (a list that is kept shown).
    expect(when(start, t0 + 21000).human).toBe('21 seconds ago');
    expect(when(start, t0 + 3 * 60000).human).toBe('3 minutes ago');
    expect(relativeTime(-2 * 24 * 3600 * 1000)).toBe('2 days ago');
    expect(relativeTime(0)).toBe('now');
    expect(when(null).human).toBe('');
  });
});

describe('run labels', () => {
  const base: RunRow = {
    run_id: 'a'.repeat(32),
    run_name: 'rerun of baseline',
    experiment_id: '1',
    status: 'FINISHED',
    start_time: '2024-05-01T10:00:00Z',
    notebook: null,
    reproduces: 'b'.repeat(32),
    verdict: 'reproduced',
    data_mode: 'pinned',
    outcomes: null,
    hidden_state: false,
    metrics: {},
    data_changed: false,
    changed_tables: [],
    tables: 1
  };

  it('name a rerun by its data mode, also one named by an older nbrepro', () => {
    expect(runLabel(base)).toBe('rerun of baseline · pinned');
    expect(runLabel({ ...base, run_name: 'rerun of baseline · latest v1' })).toBe(
      'rerun · latest v1'
    );
    expect(runLabel({ ...base, run_name: 'rerun of a · b · pinned v0 (2 of 3)' })).toBe(
      'rerun · pinned v0 (2 of 3)'
    );
    expect(runLabel({ ...base, reproduces: null, data_mode: null, run_name: 'baseline' })).toBe(
      'baseline'
    );
    expect(runLabel({ ...base, reproduces: null, data_mode: null, run_name: null })).toBe(
      'aaaaaaaa'
    );
  });
});

describe('verdict headline', () => {
  it('names what differs once, as the card says it', () => {
    expect(verdictHeadline({ verdict: 'differs', differs: ['data', 'metrics'] })).toBe(
      'Differs in data, metrics'
    );
    expect(verdictHeadline({ verdict: 'reproduced', differs: [] })).toBe('Reproduced');
    expect(verdictHeadline({ verdict: 'failed', differs: ['outputs'] })).toBe('Failed');
  });
});

describe('metric changes', () => {
  it('say the sign, the absolute and the relative change', () => {
    expect(valueChange(0.5, 0.6)).toEqual({ text: '+0.1 (+20%)', sign: 'up' });
    expect(valueChange(16 / 3, 6)?.text).toBe('+0.666667 (+12.5%)');
    expect(valueChange(1, 3.5)?.text).toBe('+2.5 (+250%)');
    expect(valueChange(0.84, 0.8316)).toEqual({ text: '−0.0084 (−1%)', sign: 'down' });
    expect(valueChange(100, 100.001)?.text).toBe('+0.001 (+0.0010%)');
    expect(valueChange(0, 2)).toEqual({ text: '+2', sign: 'up' });
    expect(valueChange('a', 2)).toBeNull();
    expect(valueChange(1, null)).toBeNull();
  });

  it('say the tolerance used', () => {
    expect(toleranceText([0])).toBe('compared exactly (no tolerance)');
    expect(toleranceText([0.01, 0])).toBe('relative tolerance exact, 0.01');
  });
});

describe('paths under the home folder', () => {
  it('shows them as ~/..., whole paths and file URIs alike', () => {
    expect(homeRelative('/home/ana/lake/wine', '/home/ana')).toBe('~/lake/wine');
    expect(homeRelative('file:///home/ana/lake/wine', '/home/ana/')).toBe('~/lake/wine');
    expect(homeRelative('file:///data/lake/wine', '/home/ana')).toBe('/data/lake/wine');
  });
  it('leaves other paths, look-alike folders and remote URIs as they are', () => {
    expect(homeRelative('/home/anabel/lake', '/home/ana')).toBe('/home/anabel/lake');
    expect(homeRelative('s3://home/ana/lake', '/home/ana')).toBe('s3://home/ana/lake');
    expect(homeRelative('/home/ana/lake', '')).toBe('/home/ana/lake');
    expect(homeRelative('/home/ana', '/home/ana')).toBe('/home/ana');
  });
});
