import type { ErrorCode, Job, Report, RunDetails, RunRow } from '../api-types';
import { RequestError } from '../errors';
import { ReproModel, STORING_CHECKS_MS } from '../model';
import { Query, requestAPI } from '../request';

jest.mock('../request', () => ({
  requestAPI: jest.fn(),
  endpoint: (...segments: string[]) => segments.map(encodeURIComponent).join('/')
}));

const mockedRequest = requestAPI as jest.MockedFunction<typeof requestAPI>;

interface Call {
  method: string;
  path: string;
  query: Query;
  body: any;
}

type Handler = (call: Call) => unknown;

/** A fake nbrepro server: routes "METHOD path" to handlers; records every call. */
class FakeServer {
  calls: Call[] = [];
  routes = new Map<string, Handler>();

  constructor() {
    mockedRequest.mockImplementation(async (path = '', init = {}, query = {}) => {
      const method = init.method ?? 'GET';
      const call: Call = {
        method,
        path,
        query,
        body: init.body ? JSON.parse(String(init.body)) : null
      };
      this.calls.push(call);
      const handler = this.routes.get(`${method} ${path}`);
      if (!handler) {
        // What Tornado answers for a route nobody registered.
        throw new RequestError(404, 'Not Found', path, null);
      }
      return handler(call) as any;
    });
  }

  on(route: string, handler: Handler): this {
    this.routes.set(route, handler);
    return this;
  }

  callsTo(route: string): Call[] {
    return this.calls.filter(c => `${c.method} ${c.path}` === route);
  }
}

/** What nbrepro's handlers answer: the body `{message, status, code}`. */
function fail(status: number, message: string, code: ErrorCode): never {
  throw new RequestError(status, message, '', code);
}

function row(id: string, start: string, extra: Partial<RunRow> = {}): RunRow {
  return {
    run_id: id,
    run_name: `run ${id}`,
    experiment_id: '1',
    status: 'FINISHED',
    start_time: start,
    notebook: '/root/work/train.ipynb',
    reproduces: null,
    verdict: null,
    data_mode: null,
    outcomes: null,
    hidden_state: false,
    metrics: { rmse: 0.5 },
    data_changed: false,
    changed_tables: [],
    tables: 1,
    ...extra
  };
}

function job(state: Job['state'], extra: Partial<Job> = {}): Job {
  return {
    job_id: 'j1',
    run_id: 'r1',
    options: { env: 'current', data: 'pinned', tolerance: null, allow_missing: false },
    state,
    created_at: '2024-05-01T10:00:00Z',
    started_at: null,
    finished_at: null,
    progress: { cells_done: 0, cells_total: 3, phase: state === 'queued' ? 'queued' : 'executing' },
    log_tail: [],
    verdict: null,
    rerun_run_id: null,
    exit_code: null,
    error: null,
    report: null,
    ...extra
  };
}

const REPORT: Report = {
  verdict: 'differs',
  differs: ['metrics'],
  drift: [],
  original: 'r1',
  rerun: 'r2',
  failure: null,
  failure_reproduced: null,
  volatile: { ignored: false, kinds: [], only: false },
  notes: [],
  sections: {
    data: { same: true, tables: [] },
    environment: {
      same: true,
      hash: ['h', 'h'],
      packages: { same: true, python: null, added: [], removed: [], changed: [] },
      system: {}
    },
    code: { same: true, changes: [], summary: 'identical' },
    params: { same: true, compared: 0, values: [] },
    metrics: {
      same: false,
      compared: 1,
      values: [{ name: 'rmse', original: 0.5, rerun: 0.6, same: false, tolerance: 0 }]
    },
    outputs: {
      same: true,
      compared: 0,
      with_outputs: 0,
      cells: [],
      only_in_a: [],
      only_in_b: [],
      not_rerun: [],
      volatile_only: false,
      failures: { same: true, original: null, rerun: null },
      recorded_by_one_side: [],
      capped: []
    }
  }
};

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (predicate()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function connected(server: FakeServer): FakeServer {
  return server
    .on('GET version', () => ({ version: '0.1.0' }))
    .on('GET reruns', () => ({ jobs: [] }));
}

let model: ReproModel;

afterEach(() => {
  model?.dispose();
  mockedRequest.mockReset();
});

describe('version check', () => {
  it('lists the runs when the server extension has the same version', async () => {
    const server = connected(new FakeServer()).on('GET runs', () => ({
      runs: [row('r1', '2024-05-01T10:00:00+00:00')],
      next_page_token: null
    }));
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('work/train.ipynb');
    await model.start();
    expect(model.connection.status).toBe('ok');
    expect(model.runs.rows.map(r => r.run_id)).toEqual(['r1']);
    expect(server.callsTo('GET runs')[0].query).toMatchObject({ notebook: 'work/train.ipynb' });
  });

  it('says clearly that the versions differ, and calls nothing else', async () => {
    const server = new FakeServer().on('GET version', () => ({ version: '0.2.0' }));
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    const { status, problem } = model.connection;
    expect(status).toBe('problem');
    expect(problem?.kind).toBe('version-mismatch');
    expect(problem?.message).toContain('0.1.0');
    expect(problem?.message).toContain('0.2.0');
    expect(problem?.hint).toContain('pip install');
    expect(server.calls.map(c => c.path)).toEqual(['version']);
  });

  it('says the server extension is missing on a plain 404, and retries', async () => {
    const server = new FakeServer();
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    expect(model.connection.problem?.kind).toBe('extension-missing');
    expect(model.connection.problem?.hint).toContain('jupyter server extension list');
    expect(model.connection.problem?.retry).toBe(true);

    connected(server).on('GET runs', () => ({ runs: [], next_page_token: null }));
    await model.retry();
    expect(model.connection.status).toBe('ok');
    expect(model.runs.loaded).toBe(true);
  });
});

describe('runs list', () => {
  it('pages with next_page_token and the page size from the settings', async () => {
    const server = connected(new FakeServer()).on('GET runs', call =>
      call.query.page_token === 'p2'
        ? { runs: [row('r3', '2024-05-01T08:00:00+00:00')], next_page_token: null }
        : {
            runs: [row('r1', '2024-05-01T10:00:00+00:00'), row('r2', '2024-05-01T09:00:00+00:00')],
            next_page_token: 'p2'
          }
    );
    model = new ReproModel({ frontendVersion: '0.1.0', settings: { pageSize: 2 } });
    model.setNotebook('train.ipynb');
    await model.start();
    expect(model.runs.rows).toHaveLength(2);
    expect(model.runs.nextPageToken).toBe('p2');

    await model.loadMore();
    expect(model.runs.rows.map(r => r.run_id)).toEqual(['r1', 'r2', 'r3']);
    expect(model.runs.nextPageToken).toBeNull();
    const queries = server.callsTo('GET runs').map(c => c.query);
    expect(queries[0]).toMatchObject({ max_results: 2, page_token: null });
    expect(queries[1]).toMatchObject({ max_results: 2, page_token: 'p2' });

    await model.loadMore(); // no more pages: no call
    expect(server.callsTo('GET runs')).toHaveLength(2);
  });

  it('lists the default experiment in the "all runs" scope, with the tracking URI override', async () => {
    const server = connected(new FakeServer()).on('GET runs', () => ({
      runs: [],
      next_page_token: null
    }));
    model = new ReproModel({
      frontendVersion: '0.1.0',
      settings: { defaultExperiment: 'churn', trackingUri: 'http://127.0.0.1:5000' }
    });
    model.setNotebook('train.ipynb');
    await model.start();
    model.setScope('experiment');
    await until(() => server.callsTo('GET runs').length === 2, 'the second list');
    const [byNotebook, byExperiment] = server.callsTo('GET runs').map(c => c.query);
    expect(byNotebook).toMatchObject({
      notebook: 'train.ipynb',
      tracking_uri: 'http://127.0.0.1:5000'
    });
    expect(byNotebook.experiment).toBeUndefined();
    expect(byExperiment).toMatchObject({
      experiment: 'churn',
      tracking_uri: 'http://127.0.0.1:5000'
    });
    expect(byExperiment.notebook).toBeUndefined();
  });

  it('lists nothing until a notebook is in focus', async () => {
    const server = connected(new FakeServer());
    model = new ReproModel({ frontendVersion: '0.1.0' });
    await model.start();
    expect(server.callsTo('GET runs')).toHaveLength(0);
    expect(model.runs.loaded).toBe(false);
  });

  it('drops the answer for a notebook that lost focus meanwhile', async () => {
    let release: (value: unknown) => void = () => undefined;
    const server = connected(new FakeServer()).on('GET runs', call =>
      call.query.notebook === 'a.ipynb'
        ? new Promise(resolve => {
            release = resolve;
          })
        : { runs: [row('b1', '2024-05-01T10:00:00+00:00')], next_page_token: null }
    );
    model = new ReproModel({ frontendVersion: '0.1.0' });
    await model.checkVersion();
    model.setNotebook('a.ipynb');
    model.setNotebook('b.ipynb');
    await until(() => model.runs.loaded, 'b.ipynb runs');
    release({ runs: [row('a1', '2024-05-01T10:00:00+00:00')], next_page_token: null });
    await new Promise(resolve => setTimeout(resolve, 5));
    expect(model.runs.rows.map(r => r.run_id)).toEqual(['b1']);
    expect(server.callsTo('GET runs')).toHaveLength(2);
  });
});

describe('a capture stored after its cell', () => {
  afterEach(() => jest.useRealTimers());

  /** train.ipynb's newest run stays RUNNING; a capture has just run (fake timers). */
  async function captureStuckRun(): Promise<{ server: FakeServer; done: Promise<void> }> {
    jest.useFakeTimers();
    const server = connected(new FakeServer()).on('GET runs', () => ({
      runs: [row('stuck', '2024-05-01T10:00:00+00:00', { status: 'RUNNING' })],
      next_page_token: null
    }));
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    return { server, done: model.captured() };
  }

  it('looks again while the newest run is RUNNING, keeping the pages loaded below', async () => {
    jest.useFakeTimers();
    let stored = false;
    let failing = false;
    const server = connected(new FakeServer()).on('GET runs', call => {
      if (call.query.page_token === 'p2') {
        return { runs: [row('old', '2024-05-01T08:00:00+00:00')], next_page_token: null };
      }
      if (failing) {
        fail(503, 'store down', 'tracking-unavailable');
      }
      return {
        runs: [
          row('new', '2024-05-01T10:00:00+00:00', { status: stored ? 'FINISHED' : 'RUNNING' }),
          row('r1', '2024-05-01T09:00:00+00:00')
        ],
        next_page_token: 'p2'
      };
    });
    model = new ReproModel({ frontendVersion: '0.1.0', settings: { pageSize: 2 } });
    model.setNotebook('train.ipynb');
    await model.start();
    const done = model.captured();
    await jest.advanceTimersByTimeAsync(1); // the capture's refresh
    await model.loadMore(); // the user scrolls to the next page meanwhile
    expect(server.callsTo('GET runs')).toHaveLength(3);
    expect(model.runs.rows[0].status).toBe('RUNNING');

    // A look that fails leaves the list as it was, with no problem shown.
    failing = true;
    await jest.advanceTimersByTimeAsync(STORING_CHECKS_MS[0]);
    expect(server.callsTo('GET runs')).toHaveLength(4);
    expect(model.runs.problem).toBeNull();
    expect(model.runs.rows[0].status).toBe('RUNNING');

    failing = false;
    stored = true;
    await jest.advanceTimersByTimeAsync(STORING_CHECKS_MS[1]);
    await done;
    expect(model.runs.rows.map(r => [r.run_id, r.status])).toEqual([
      ['new', 'FINISHED'],
      ['r1', 'FINISHED'],
      ['old', 'FINISHED']
    ]);
    expect(model.runs.nextPageToken).toBeNull(); // still all pages
    // Stored: no more looks.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(server.callsTo('GET runs')).toHaveLength(5);
  });

  it('stops looking when another notebook is in focus', async () => {
    const { server, done } = await captureStuckRun();
    await jest.advanceTimersByTimeAsync(1);
    model.setNotebook('other.ipynb'); // lists the other notebook's runs, once
    await jest.advanceTimersByTimeAsync(60_000);
    await done;
    const queries = server.callsTo('GET runs').map(c => c.query.notebook);
    expect(queries).toEqual(['train.ipynb', 'train.ipynb', 'other.ipynb']);
  });

  it('stops looking after about half a minute when the run stays RUNNING', async () => {
    const { server, done } = await captureStuckRun();
    await jest.advanceTimersByTimeAsync(STORING_CHECKS_MS.reduce((a, b) => a + b, 0) + 1000);
    await done;
    // The start, the capture's refresh, then one look per delay.
    expect(server.callsTo('GET runs')).toHaveLength(2 + STORING_CHECKS_MS.length);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(server.callsTo('GET runs')).toHaveLength(2 + STORING_CHECKS_MS.length);
  });
});

describe('error states', () => {
  it('maps 503 to "tracking store unreachable" with a retry', async () => {
    let up = false;
    connected(new FakeServer()).on('GET runs', () =>
      up
        ? { runs: [], next_page_token: null }
        : fail(503, 'cannot reach http://127.0.0.1:5000', 'tracking-unavailable')
    );
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    const problem = model.runs.problem;
    expect(problem?.kind).toBe('unreachable');
    expect(problem?.message).toContain('cannot reach http://127.0.0.1:5000');
    expect(problem?.retry).toBe(true);

    up = true;
    await model.retry();
    expect(model.runs.problem).toBeNull();
    expect(model.runs.loaded).toBe(true);
  });

  it('maps 409 on capture to "kernel not running", saving the notebook first', async () => {
    const order: string[] = [];
    const server = connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST capture', () => {
        order.push('capture');
        return fail(409, 'no running kernel for train.ipynb', 'kernel-not-running');
      });
    model = new ReproModel({ frontendVersion: '0.1.0', settings: { defaultExperiment: 'churn' } });
    model.setNotebook('train.ipynb');
    await model.start();
    const result = await model.captureNotebook(async () => {
      order.push('save');
    });
    expect(result).toBeNull();
    expect(order).toEqual(['save', 'capture']);
    expect(server.callsTo('POST capture')[0].body).toEqual({
      notebook: 'train.ipynb',
      experiment: 'churn'
    });
    expect(model.capture.problem?.kind).toBe('kernel');
    expect(model.capture.problem?.hint).toContain('kernel');
  });

  it('maps nbrepro\'s own 404 to "not found", not to a missing extension', async () => {
    connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('GET reruns', () => ({ jobs: [] }))
      .on('GET runs/abc', () => fail(404, 'no run abc in the tracking store', 'run-not-found'));
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.select('abc');
    expect(model.details.problem?.kind).toBe('not-found');
    expect(model.details.problem?.message).toBe('no run abc in the tracking store');
  });

  it('maps 409 on the environment drift to "kernel not running"', async () => {
    connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('GET reruns', () => ({ jobs: [] }))
      .on('GET runs/r1', () => ({ run_id: 'r1' }) as unknown as RunDetails)
      .on('GET runs/r1/environment', () =>
        fail(409, 'train.ipynb has no running kernel', 'kernel-not-running')
      );
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.select('r1');
    expect(model.details.value?.run_id).toBe('r1');
    expect(model.environment.problem?.kind).toBe('kernel');
  });
});

describe('captures', () => {
  it('lists and selects the captured run', async () => {
    let captured = false;
    connected(new FakeServer())
      .on('GET runs', () => ({
        runs: captured ? [row('new', '2024-05-02T10:00:00+00:00')] : [],
        next_page_token: null
      }))
      .on('GET reruns', () => ({ jobs: [] }))
      .on('GET runs/new', () => ({ run_id: 'new' }) as unknown as RunDetails)
      .on('GET runs/new/environment', () => fail(409, 'no kernel', 'kernel-not-running'))
      .on('POST capture', () => {
        captured = true;
        return { run_id: 'new', run_name: 'n', experiment_id: '1', experiment_name: 'nbrepro' };
      });
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    const result = await model.captureNotebook();
    expect(result?.run_id).toBe('new');
    expect(model.runs.rows.map(r => r.run_id)).toEqual(['new']);
    expect(model.selectedRunId).toBe('new');
  });

  it('ties a failed capture to its notebook, with a hint that does not repeat it', async () => {
    connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST capture', () =>
        fail(
          409,
          "'train.ipynb' has no running kernel: nothing ran in it to capture",
          'kernel-not-running'
        )
      );
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    expect(await model.captureNotebook()).toBeNull();
    const { problem, notebook } = model.capture;
    expect(notebook).toBe('train.ipynb');
    expect(problem?.kind).toBe('kernel');
    expect(problem?.hint).toMatch(/^Start its kernel/);
    expect(problem?.hint).not.toMatch(/open/i); // the notebook is open
  });
});

describe('open captured notebook', () => {
  const RUN = 'a'.repeat(32);

  function withRun(server: FakeServer): FakeServer {
    return connected(server)
      .on('GET runs', () => ({
        runs: [row(RUN, '2024-05-01T10:00:00+00:00')],
        next_page_token: null
      }))
      .on(`GET runs/${RUN}`, () => ({ run_id: RUN }) as unknown as RunDetails)
      .on(`GET runs/${RUN}/environment`, () => fail(409, 'no kernel', 'kernel-not-running'));
  }

  it('has the server write the replay, then opens the path it returns', async () => {
    const path = `nbrepro-runs/train-${RUN.slice(0, 8)}.replay.ipynb`;
    const server = withRun(new FakeServer()).on(`POST runs/${RUN}/open`, call => ({
      path,
      run_id: RUN,
      which: call.body.which
    }));
    model = new ReproModel({
      frontendVersion: '0.1.0',
      settings: { trackingUri: 'sqlite:///x.db' }
    });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.select(RUN);
    const opened: string[] = [];
    const result = await model.openCaptured(RUN, 'replay', async p => {
      opened.push(p);
    });
    expect(server.callsTo(`POST runs/${RUN}/open`)[0].body).toEqual({
      which: 'replay',
      tracking_uri: 'sqlite:///x.db'
    });
    expect(result).toEqual({ path, run_id: RUN, which: 'replay' });
    expect(opened).toEqual([path]);
    expect(model.opening).toMatchObject({ which: 'replay', loading: false, problem: null });
  });

  it('keeps the reason a document cannot be opened, and opens nothing', async () => {
    withRun(new FakeServer()).on(`POST runs/${RUN}/open`, () =>
      fail(
        404,
        `run ${RUN} did not record its notebook: the kernel had no notebook path`,
        'not-captured'
      )
    );
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.select(RUN);
    const open = jest.fn(async () => undefined);
    expect(await model.openCaptured(RUN, 'document', open)).toBeNull();
    expect(open).not.toHaveBeenCalled();
    expect(model.opening.which).toBe('document');
    expect(model.opening.problem?.kind).toBe('not-found');
    expect(model.opening.problem?.message).toContain('did not record its notebook');
    await model.select(null);
    expect(model.opening.problem).toBeNull();
  });
});

describe('reruns', () => {
  it('polls a job to its verdict and shows it on the run', async () => {
    const states: Job[] = [
      job('running', { progress: { cells_done: 1, cells_total: 3, phase: 'executing' } }),
      job('running', { progress: { cells_done: 3, cells_total: 3, phase: 'comparing' } }),
      job('succeeded', { verdict: 'reproduced', exit_code: 0, rerun_run_id: 'r9', report: REPORT })
    ];
    const server = connected(new FakeServer())
      .on('GET runs', () => ({
        runs: [row('r1', '2024-05-01T10:00:00+00:00')],
        next_page_token: null
      }))
      .on('POST reruns', () => job('queued'))
      .on('GET reruns/j1', () => states.shift());
    model = new ReproModel({
      frontendVersion: '0.1.0',
      pollInterval: 1,
      settings: { rerunEnv: 'recorded', trackingUri: 'sqlite:///x.db' }
    });
    model.setNotebook('train.ipynb');
    await model.start();
    const phases: string[] = [];
    model.changed.connect((_, change) => {
      const current = model.jobOf('r1')?.job;
      if (change === 'jobs' && current) {
        phases.push(`${current.state}:${current.progress.cells_done}`);
      }
    });
    const finished: Job[] = [];
    model.jobFinished.connect((_, done) => finished.push(done));

    const started = await model.rerun('r1', { data: 'latest' });
    expect(started?.state).toBe('queued');
    expect(server.callsTo('POST reruns')[0].body).toEqual({
      run_id: 'r1',
      env: 'recorded',
      data: 'latest',
      tracking_uri: 'sqlite:///x.db'
    });
    await until(() => finished.length === 1, 'the verdict');
    expect(finished[0].verdict).toBe('reproduced');
    expect(model.jobOf('r1')?.job?.report).toBe(REPORT);
    expect(phases).toEqual(['queued:0', 'running:1', 'running:3', 'succeeded:0']);
    // The list is reloaded: the rerun is a new run, the original has a new verdict.
    await until(() => server.callsTo('GET runs').length === 2, 'the list reload');
    // The polling stopped with the terminal state.
    const polls = server.callsTo('GET reruns/j1').length;
    await new Promise(resolve => setTimeout(resolve, 10));
    expect(server.callsTo('GET reruns/j1')).toHaveLength(polls);
    expect(polls).toBe(3);
  });

  it('keeps what went wrong with a cancel when the jobs are looked up again', async () => {
    connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST reruns', () => job('running'))
      .on('GET reruns/j1', () => job('running'))
      .on('GET reruns', () => ({ jobs: [job('running')] }))
      .on('DELETE reruns/j1', () => fail(500, 'could not signal the rerun', 'internal'));
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1000 });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.rerun('r1');
    await model.cancel('r1');
    expect(model.jobOf('r1')?.problem?.message).toContain('could not signal the rerun');
    // The live list's lookup of the same job: the problem stays until something new.
    await model.findJobs();
    expect(model.jobOf('r1')?.problem?.message).toContain('could not signal the rerun');
    expect(model.jobOf('r1')?.busy).toBe(false);
  });

  it('cancels a job in flight', async () => {
    const server = connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST reruns', () => job('running'))
      .on('GET reruns/j1', () => job('running'))
      .on('DELETE reruns/j1', () => job('cancelled'));
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.rerun('r1', { repeat: 3 });
    // Reruns under the same pins, compared with each other (`nbrepro rerun --repeat 3`).
    expect(server.callsTo('POST reruns')[0].body).toEqual({
      run_id: 'r1',
      env: 'current',
      data: 'pinned',
      repeat: 3
    });
    await until(() => server.callsTo('GET reruns/j1').length >= 1, 'a poll');
    await model.cancel('r1');
    expect(model.jobOf('r1')?.job?.state).toBe('cancelled');
    const polls = server.callsTo('GET reruns/j1').length;
    await new Promise(resolve => setTimeout(resolve, 10));
    expect(server.callsTo('GET reruns/j1')).toHaveLength(polls);
  });

  it('finds the jobs still in flight after a page reload and follows them', async () => {
    const server = connected(new FakeServer())
      .on('GET runs', () => ({
        runs: [row('r1', '2024-05-01T10:00:00+00:00')],
        next_page_token: null
      }))
      .on('GET reruns', () => ({
        jobs: [
          job('running'),
          job('succeeded', { job_id: 'old' }),
          job('succeeded', { job_id: 'j2', run_id: 'r2', verdict: 'differs' })
        ]
      }))
      .on('GET reruns/j1', () =>
        job('failed', { error: 'the data this run read is not available any more' })
      );
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    model.setNotebook('train.ipynb');
    await model.start();
    // One lookup of every run's jobs at start; the newest job of each run is kept.
    expect(server.callsTo('GET reruns')[0].query.run_id).toBeUndefined();
    expect(model.jobOf('r2')?.job?.verdict).toBe('differs');
    expect(model.jobOf('r1')?.job?.job_id).toBe('j1');
    await until(() => model.jobOf('r1')?.job?.state === 'failed', 'the failed state');
    expect(model.jobOf('r1')?.job?.error).toContain('not available');
    expect(server.callsTo('GET reruns/old')).toHaveLength(0);
  });

  it("looks up a run's jobs when the run is selected", async () => {
    const server = connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('GET runs/r1', () => ({ run_id: 'r1' }) as unknown as RunDetails)
      .on('GET runs/r1/environment', () => fail(409, 'no kernel', 'kernel-not-running'));
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.select('r1');
    expect(server.callsTo('GET reruns')[1].query).toMatchObject({ run_id: 'r1' });
  });

  it('stops polling a job cancelled while a poll was failing', async () => {
    let rejectPoll: (error: unknown) => void = () => undefined;
    const server = connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST reruns', () => job('running'))
      .on(
        'GET reruns/j1',
        () =>
          new Promise((_, reject) => {
            rejectPoll = reject;
          })
      )
      .on('DELETE reruns/j1', () => job('cancelled'));
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.rerun('r1');
    await until(() => server.callsTo('GET reruns/j1').length === 1, 'a poll');
    await model.cancel('r1');
    rejectPoll(new RequestError(503, 'tracking store unreachable', '', 'tracking-unavailable'));
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(server.callsTo('GET reruns/j1')).toHaveLength(1);
    expect(model.jobOf('r1')?.job?.state).toBe('cancelled');
    expect(model.jobOf('r1')?.problem).toBeNull();
  });

  it('keeps a finished job finished when an older job list arrives', async () => {
    const server = connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST reruns', () => job('running'))
      .on('GET reruns/j1', () => job('succeeded', { verdict: 'reproduced', report: REPORT }));
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    const finished: Job[] = [];
    model.jobFinished.connect((_, done) => finished.push(done));
    model.setNotebook('train.ipynb');
    await model.start();
    await model.rerun('r1');
    await until(() => finished.length === 1, 'the verdict');
    // A lookup sent while the job still ran answers after the poll saw it end.
    server.on('GET reruns', () => ({ jobs: [job('running')] }));
    await model.findJobs('r1');
    expect(model.jobOf('r1')?.job?.state).toBe('succeeded');
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(server.callsTo('GET reruns/j1')).toHaveLength(1);
    expect(finished).toHaveLength(1);
  });

  it('gives up on a job the server no longer knows', async () => {
    connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('POST reruns', () => job('queued'))
      .on('GET reruns/j1', () => fail(404, 'no job j1', 'job-not-found'));
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.rerun('r1');
    await until(() => model.jobOf('r1')?.problem !== null, 'the problem');
    expect(model.jobOf('r1')?.problem?.kind).toBe('not-found');
  });
});

describe('compare', () => {
  it('compares the two ticked runs, the older as the original', async () => {
    const server = connected(new FakeServer())
      .on('GET runs', () => ({
        runs: [
          row('new', '2024-05-03T10:00:00+00:00'),
          row('mid', '2024-05-02T10:00:00+00:00'),
          row('old', '2024-05-01T10:00:00+00:00')
        ],
        next_page_token: null
      }))
      .on('GET compare', () => REPORT);
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    model.toggleChecked('mid');
    model.toggleChecked('new');
    model.toggleChecked('old'); // a third tick replaces the oldest
    expect(model.checked).toEqual(['new', 'old']);
    await model.compareChecked();
    expect(server.callsTo('GET compare')[0].query).toMatchObject({ a: 'old', b: 'new' });
    expect(model.comparison?.value).toBe(REPORT);
    model.toggleChecked('old');
    expect(model.checked).toEqual(['new']);
  });

  it('keeps the error of a failed comparison', async () => {
    connected(new FakeServer())
      .on('GET runs', () => ({ runs: [], next_page_token: null }))
      .on('GET compare', () => fail(400, "'x' is not an MLflow run id", 'bad-request'));
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    await model.compare('x', 'y');
    expect(model.comparison?.problem?.kind).toBe('bad-request');
  });
});

describe('a live list', () => {
  afterEach(() => jest.useRealTimers());

  it('looks again quietly while shown, faster while a run runs, and stops when disposed', async () => {
    jest.useFakeTimers();
    let rows = [row('r1', '2024-05-01T10:00:00+00:00')];
    const server = connected(new FakeServer()).on('GET runs', () => ({
      runs: rows,
      next_page_token: null
    }));
    model = new ReproModel({ frontendVersion: '0.1.0' });
    model.setNotebook('train.ipynb');
    await model.start();
    let shown = true;
    const live = model.watch(() => shown, 10000, 2000);
    expect(server.callsTo('GET runs')).toHaveLength(1);

    // A rerun started from the card: a new run, listed without a click.
    const now = new Date(Date.now()).toISOString();
    rows = [row('r2', now, { status: 'RUNNING' }), ...rows];
    await jest.advanceTimersByTimeAsync(9999);
    expect(server.callsTo('GET runs')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(server.callsTo('GET runs')).toHaveLength(2);
    expect(model.runs.rows.map(r => r.run_id)).toEqual(['r2', 'r1']);
    expect(model.runs.loading).toBe(false); // quiet: no "Loading runs…" flicker
    // And its job (the card's, in the server's jobs) is looked for too.
    expect(server.callsTo('GET reruns')).toHaveLength(2);

    // While it runs, every 2 s; its verdict lands on the original.
    rows = [
      row('r2', '2024-05-01T10:05:00+00:00'),
      row('r1', '2024-05-01T10:00:00+00:00', { verdict: 'reproduced' })
    ];
    await jest.advanceTimersByTimeAsync(2000);
    expect(server.callsTo('GET runs')).toHaveLength(3);
    expect(model.runs.rows[1].verdict).toBe('reproduced');

    // Hidden: no looks; shown again: they resume.
    shown = false;
    await jest.advanceTimersByTimeAsync(30000);
    expect(server.callsTo('GET runs')).toHaveLength(3);
    shown = true;
    await jest.advanceTimersByTimeAsync(10000);
    expect(server.callsTo('GET runs')).toHaveLength(4);

    // A run left RUNNING for ever (its kernel was killed, days ago): not looked at fast.
    rows = [row('r0', '2024-05-01T09:00:00+00:00', { status: 'RUNNING' }), ...rows];
    await jest.advanceTimersByTimeAsync(10000);
    expect(server.callsTo('GET runs')).toHaveLength(5);
    await jest.advanceTimersByTimeAsync(9000);
    expect(server.callsTo('GET runs')).toHaveLength(5);

    live.dispose();
    await jest.advanceTimersByTimeAsync(60000);
    expect(server.callsTo('GET runs')).toHaveLength(5);
  });

  it('a rerun that ends sets the outcome of its data mode on the original', async () => {
    const server = connected(new FakeServer())
      .on('GET runs', () => ({
        runs: [
          row('r1', '2024-05-01T10:00:00+00:00', {
            verdict: 'reproduced',
            outcomes: {
              pinned: { verdict: 'reproduced', rerun_id: 'r5', data: 'v0' },
              latest: null
            }
          })
        ],
        next_page_token: null
      }))
      .on('POST reruns', () =>
        job('queued', { options: { ...job('queued').options, data: 'latest' } })
      )
      .on('GET reruns/j1', () =>
        job('succeeded', {
          options: { ...job('queued').options, data: 'latest' },
          verdict: 'differs',
          rerun_run_id: 'r9'
        })
      );
    // The reload after the job sees the list as the server had it before: the model's own update shows.
    model = new ReproModel({ frontendVersion: '0.1.0', pollInterval: 1 });
    model.setNotebook('train.ipynb');
    await model.start();
    const finished: Job[] = [];
    model.jobFinished.connect((_, done) => finished.push(done));
    const updates: (RunRow['outcomes'] | undefined)[] = [];
    model.changed.connect((_, change) => {
      if (change === 'runs') {
        updates.push(model.runs.rows[0]?.outcomes);
      }
    });
    await model.rerun('r1', { data: 'latest' });
    await until(() => finished.length === 1, 'the verdict');
    expect(updates).toContainEqual({
      pinned: { verdict: 'reproduced', rerun_id: 'r5', data: 'v0' },
      latest: { verdict: 'differs', rerun_id: 'r9', data: null }
    });
    expect(server.callsTo('POST reruns')).toHaveLength(1);
  });
});
