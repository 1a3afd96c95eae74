import * as React from 'react';

import type { DeltaCommit, DeltaLogChanges, Job, Report, RunRow } from '../api-types';
import { DeltaLogChangesView } from '../components/DeltaLogChanges';
import {
  amounts,
  changesSummary,
  commitLine,
  dataProblem,
  pinLostText
} from '../components/deltaLog';
import { ReproModel } from '../model';
import { requestAPI } from '../request';

// JupyterLab's styled select, as a plain one: its package is an ES module jest does not load.
jest.mock('@jupyterlab/ui-components', () => ({
  HTMLSelect: (props: { options: { value: unknown; label: string }[] }) =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('react').createElement('select', { 'data-options': props.options.length })
}));

jest.mock('../request', () => ({
  requestAPI: jest.fn(),
  endpoint: (...segments: string[]) => segments.map(encodeURIComponent).join('/')
}));

// react-dom ships no types here; its server renderer is all these tests need.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { renderToStaticMarkup } = require('react-dom/server') as {
  renderToStaticMarkup: (element: React.ReactElement) => string;
};

function commit(version: number, extra: Partial<DeltaCommit> = {}): DeltaCommit {
  return {
    version,
    operation: 'WRITE',
    mode: 'Append',
    timestamp: '2024-05-01T10:00:00+00:00',
    rows_added: 58,
    rows_removed: 0,
    rows_updated: 0,
    files_added: 1,
    files_removed: 0,
    ...extra
  };
}

function changes(extra: Partial<DeltaLogChanges> = {}): DeltaLogChanges {
  return {
    from_version: 0,
    to_version: 1,
    backwards: false,
    commits_between: 1,
    left_out: 0,
    commits: [commit(1)],
    rows_added: 58,
    rows_removed: 0,
    rows_updated: 0,
    files_added: 1,
    files_removed: 0,
    note: '',
    ...extra
  };
}

describe('what the Delta log says moved', () => {
  it('says an append in one line, as the issue asks', () => {
    expect(changesSummary(changes())).toBe('v0 → v1: 1 commit (WRITE append), +58 rows, +1 file');
  });

  it('counts operations and says unknown rather than guess', () => {
    const three = changes({
      to_version: 3,
      commits_between: 3,
      commits: [
        commit(1),
        commit(2, { operation: 'DELETE', mode: null, rows_added: 0, rows_removed: 10 }),
        commit(3, { mode: 'Overwrite', rows_added: 7, rows_removed: null, files_removed: 2 })
      ],
      rows_added: 65,
      rows_removed: null,
      files_added: 3,
      files_removed: 3
    });
    expect(changesSummary(three)).toBe(
      'v0 → v3: 3 commits (WRITE append, DELETE, WRITE overwrite), +65 rows, ' +
        'rows removed unknown, +3 −3 files'
    );
    expect(commitLine(three.commits[1])).toBe('v2 · DELETE · −10 rows, +1 file');
    expect(amounts(null, null, 'row')).toBe('rows added and removed unknown');
    expect(amounts(0, 0, 'file')).toBe('files unchanged');
    expect(amounts(0, 1, 'file')).toBe('−1 file');
    const twice = changes({ commits_between: 2, commits: [commit(1), commit(2)] });
    expect(changesSummary(twice)).toContain('2 commits (2× WRITE append)');
  });

  it('says only the note when the log could not be read', () => {
    const unread = changes({
      commits: [],
      rows_added: null,
      rows_removed: null,
      files_added: null,
      files_removed: null,
      note: 'the Delta log could not be read: TableNotFoundError'
    });
    expect(changesSummary(unread)).toBe('v0 → v1: 1 commit');
  });

  it('renders the line and the commits in a details element', () => {
    const html = renderToStaticMarkup(
      React.createElement(DeltaLogChangesView, {
        changes: changes({ left_out: 2, note: 'only the 1 commits nearest v1 were read' })
      })
    );
    expect(html).toContain('data-testid="nbrepro-delta-log-summary"');
    expect(html).toContain('v0 → v1: 1 commit (WRITE append), +58 rows, +1 file');
    expect(html).toContain('<details');
    expect(html).toContain('data-testid="nbrepro-delta-log-commit" data-version="1"');
    expect(html).toContain('data-testid="nbrepro-delta-log-note"');
    const none = renderToStaticMarkup(
      React.createElement(DeltaLogChangesView, { changes: changes({ commits: [] }) })
    );
    expect(none).not.toContain('<details');
  });
});

describe("the report's data section", () => {
  it('shows what moved under the table, and nothing new for an older report', async () => {
    const { ReportView } = await import('../components/ReportView');
    const table = {
      uri: '/lake/wine',
      same: false,
      original: [{ version: 0, table_id: 't', file_fingerprint: null }],
      rerun: [{ version: 1, table_id: 't', file_fingerprint: null }],
      note: 'moved: v0 -> v1'
    };
    const report = (tables: unknown[]): Report =>
      ({
        verdict: 'differs',
        differs: ['data'],
        drift: [],
        original: 'a'.repeat(32),
        rerun: 'b'.repeat(32),
        failure: null,
        failure_reproduced: null,
        volatile: { ignored: false, kinds: [], only: false },
        notes: [],
        sections: { data: { same: false, tables } }
      }) as unknown as Report;
    const html = renderToStaticMarkup(
      React.createElement(ReportView, { report: report([{ ...table, changes: changes() }]) })
    );
    // The versions said once, by the log's line (not also by the note's "moved: v0 -> v1").
    expect(html).toContain('v0 → v1: 1 commit (WRITE append), +58 rows, +1 file');
    expect(html).not.toContain('moved:');
    const older = renderToStaticMarkup(
      React.createElement(ReportView, { report: report([table]) })
    );
    expect(older).toContain('moved: v0 -&gt; v1');
    expect(older).not.toContain('nbrepro-delta-log');
  });
});

describe('a version that can no longer be pinned', () => {
  it('is marked with why, and only when proven', () => {
    expect(pinLostText(0, { readable: false, reason: 'files_missing', detail: '' })).toBe(
      'v0 can no longer be read: vacuumed (its data files were deleted)'
    );
    expect(pinLostText(2, { readable: false, reason: 'version_unavailable', detail: '' })).toBe(
      'v2 can no longer be read: its log entries were cleaned up'
    );
    expect(pinLostText(0, { readable: null, reason: 'not_checked', detail: '' })).toBeNull();
    expect(pinLostText(0, { readable: true, reason: null, detail: '' })).toBeNull();
    expect(pinLostText(0, undefined)).toBeNull(); // an older server
  });

  const failed: Pick<Job, 'state' | 'error_reason'> = {
    state: 'failed',
    error_reason: {
      code: 'pinned-data-unavailable',
      tables: [
        {
          uri: '/lake/wine',
          version: 0,
          kind: 'files_missing',
          detail: 'Delta table /lake/wine version 0: 2 of 2 data files are missing'
        }
      ]
    }
  };

  it('fails a rerun in GUI words, once, with the way out as a button', () => {
    const problem = dataProblem(failed)!;
    expect(problem.latest).toBe(true);
    expect(problem.message).toContain(
      'wine v0 can no longer be read: vacuumed (its data files were deleted)'
    );
    expect(problem.message).not.toMatch(/--data|--/);
    expect(problem.message.match(/latest data/g)).toHaveLength(1);
    const gone = dataProblem({
      state: 'failed',
      error_reason: {
        code: 'data-gone',
        tables: [{ uri: '/lake/wine', version: 0, kind: 'table_missing', detail: '' }]
      }
    })!;
    expect(gone.latest).toBe(false);
    expect(gone.message).toContain('wine is gone');
    // No structured reason (another failure, an older server): the error is shown as is.
    expect(dataProblem({ state: 'failed', error_reason: null })).toBeNull();
    expect(dataProblem({ state: 'failed' })).toBeNull();
  });
});

describe('Re-execute on latest data', () => {
  const mocked = requestAPI as jest.MockedFunction<typeof requestAPI>;
  afterEach(() => mocked.mockReset());

  const posted: any[] = [];
  const failedJob: Job = {
    job_id: 'j1',
    run_id: 'r1',
    options: { env: 'recorded', data: 'pinned', tolerance: null, allow_missing: false, repeat: 2 },
    state: 'failed',
    created_at: '2024-05-01T10:00:00Z',
    started_at: '2024-05-01T10:00:00Z',
    finished_at: '2024-05-01T10:00:01Z',
    progress: { cells_done: 0, cells_total: 0, phase: 'checking data' },
    log_tail: ['Error: ... Rerun with --data latest ...'],
    verdict: null,
    rerun_run_id: null,
    exit_code: 2,
    error: 'the data this run read is not available any more',
    error_reason: {
      code: 'pinned-data-unavailable',
      tables: [{ uri: '/lake/wine', version: 0, kind: 'files_missing', detail: '' }]
    },
    report: null
  };
  const rows: RunRow[] = [];
  beforeEach(() => {
    posted.length = 0;
    mocked.mockImplementation(async (path = '', init = {}) => {
      const method = init.method ?? 'GET';
      if (method === 'POST' && path === 'reruns') {
        posted.push(JSON.parse(String(init.body)));
        return { ...failedJob, job_id: 'j2', state: 'queued', error_reason: null } as any;
      }
      if (path === 'version') {
        return { version: '0.1.0' } as any;
      }
      if (path === 'reruns') {
        return { jobs: [failedJob] } as any;
      }
      if (path === 'runs') {
        return { runs: rows, next_page_token: null } as any;
      }
      return { ...failedJob, job_id: 'j2', state: 'running', error_reason: null } as any;
    });
  });

  it('starts the same rerun on the latest data', async () => {
    const model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1000 });
    try {
      await model.start();
      await model.findJobs('r1');
      expect(model.jobOf('r1')?.job?.error_reason?.code).toBe('pinned-data-unavailable');
      const started = await model.rerunOnLatest('r1');
      expect(started?.job_id).toBe('j2');
      expect(posted).toEqual([{ run_id: 'r1', env: 'recorded', data: 'latest', repeat: 2 }]);
    } finally {
      model.dispose();
    }
  });

  it('is shown on the failed job, without the command line words', async () => {
    const { RerunPanel } = await import('../components/RerunPanel');
    const model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1000 });
    try {
      await model.findJobs('r1');
      const html = renderToStaticMarkup(React.createElement(RerunPanel, { model, runId: 'r1' }));
      expect(html).toContain('data-testid="nbrepro-rerun-latest-button"');
      expect(html).toContain('Re-execute on latest data');
      expect(html).toContain('data-reason="pinned-data-unavailable"');
      expect(html).not.toContain('--data');
      expect(html).not.toContain('data-testid="nbrepro-log"');
    } finally {
      model.dispose();
    }
  });
});
