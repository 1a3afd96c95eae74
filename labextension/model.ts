/**
 * The sidebar's state: the notebook in focus, its runs, the selected run, reruns,
 * comparisons and captures. Widgets render it and call its methods; every server
 * call goes through requestAPI.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type {
  CaptureRequest,
  CaptureResult,
  CellImages,
  DataMode,
  EnvironmentDrift,
  EnvMode,
  Job,
  OpenRequest,
  OpenResult,
  Report,
  RerunOutcome,
  RerunRequest,
  RunDetails,
  RunRow,
  RunsPage,
  Version
} from './api-types';
import { Problem, problemFrom, versionMismatch } from './errors';
import { JobEntry, RerunJobs } from './jobs';
import { endpoint, Query, requestAPI } from './request';
import { DEFAULT_SETTINGS, ReproSettings } from './settings';
import { FRONTEND_VERSION } from './version';

/** Answers of compare/images kept (ReproModel.cellImages). */
const KEPT_IMAGE_ANSWERS = 4;

/** When the list looks again for a capture's run still being stored (ms between looks). */
export const STORING_CHECKS_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** How often a shown list looks for news (ms): when all is quiet, while a run runs. */
export const LIVE_IDLE_MS = 10000;
export const LIVE_BUSY_MS = 2000;
/** A RUNNING run started longer ago than this is not polled fast (a killed kernel's). */
const RUNNING_RECENT_MS = 60 * 60 * 1000;

/** Runs of the notebook in focus, or all runs (of the default experiment when set). */
export type Scope = 'notebook' | 'experiment';

/** What changed, for listeners that care about one part. */
export type Change =
  | 'connection'
  | 'notebook'
  | 'runs'
  | 'selection'
  | 'details'
  | 'environment'
  | 'checked'
  | 'comparison'
  | 'jobs'
  | 'capture'
  | 'open'
  | 'settings';

export interface Loadable<T> {
  value: T | null;
  loading: boolean;
  problem: Problem | null;
}

export interface ConnectionState {
  status: 'unchecked' | 'checking' | 'ok' | 'problem';
  serverVersion: string | null;
  /** The server's home folder: paths under it are shown as ~/... ('' when unknown). */
  home?: string;
  problem: Problem | null;
}

export interface RunsState {
  rows: RunRow[];
  nextPageToken: string | null;
  /** A first page has been received for the current notebook and scope. */
  loaded: boolean;
  loading: boolean;
  problem: Problem | null;
}

export interface ComparisonState extends Loadable<Report> {
  a: string;
  b: string;
}

/** A capture from the sidebar: its outcome is told with its notebook in focus only. */
export interface CaptureState extends Loadable<CaptureResult> {
  notebook: string | null;
}

/** Which of a run's notebooks to open: the replay, or the document as captured. */
export type OpenWhich = OpenRequest['which'];

/** Opening a copy of the selected run's replay or document. */
export interface OpenState extends Loadable<OpenResult> {
  which: OpenWhich | null;
}

export interface RerunChoice {
  env: EnvMode;
  data: DataMode;
  /** Reruns under the same pins, compared with each other too (1: once). */
  repeat: number;
}

export interface ReproModelOptions {
  settings?: Partial<ReproSettings>;
  /** Milliseconds between two polls of a running job. */
  pollInterval?: number;
  frontendVersion?: string;
}

export class ReproModel implements IDisposable {
  constructor(options: ReproModelOptions = {}) {
    this._settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this._frontendVersion = options.frontendVersion ?? FRONTEND_VERSION;
    this._jobs = new RerunJobs(options.pollInterval ?? 1000, args => this._query(args));
    this._jobs.changed.connect(() => this._emit('jobs'));
    this._jobs.finished.connect((_, job) => this._finish(job));
  }

  /** Emitted after any state change, with what changed. */
  get changed(): ISignal<this, Change> {
    return this._changed;
  }

  /** Emitted once when a rerun job reaches a terminal state. */
  get jobFinished(): ISignal<this, Job> {
    return this._jobFinished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get frontendVersion(): string {
    return this._frontendVersion;
  }

  get settings(): ReproSettings {
    return this._settings;
  }

  get connection(): ConnectionState {
    return this._connection;
  }

  /** The notebook in focus, relative to the server root (null: none open). */
  get notebookPath(): string | null {
    return this._notebookPath;
  }

  get scope(): Scope {
    return this._scope;
  }

  get runs(): RunsState {
    return this._runs;
  }

  get selectedRunId(): string | null {
    return this._selected;
  }

  /** The list row of the selected run, when it is listed. */
  get selectedRow(): RunRow | null {
    return this._runs.rows.find(row => row.run_id === this._selected) ?? null;
  }

  get details(): Loadable<RunDetails> {
    return this._details;
  }

  get environment(): Loadable<EnvironmentDrift> {
    return this._environment;
  }

  /** Runs ticked for comparison, oldest tick first (two at most). */
  get checked(): readonly string[] {
    return this._checked;
  }

  get comparison(): ComparisonState | null {
    return this._comparison;
  }

  /** The latest capture from the sidebar, and the notebook it was of. */
  get capture(): CaptureState {
    return this._capture;
  }

  /** The latest "open notebook" of the selected run. */
  get opening(): OpenState {
    return this._opening;
  }

  /** The latest rerun job of a run that this page knows of. */
  jobOf(runId: string): JobEntry | null {
    return this._jobs.get(runId);
  }

  /** Check the server extension, then list the runs. */
  async start(): Promise<void> {
    if (await this.checkVersion()) {
      await Promise.all([this.refresh(), this.findJobs()]);
    }
  }

  /** Compare the server extension's version with this frontend's. */
  async checkVersion(): Promise<boolean> {
    this._connection = { status: 'checking', serverVersion: null, problem: null };
    this._emit('connection');
    let problem: Problem | null = null;
    let serverVersion: string | null = null;
    let home = '';
    try {
      const version = await requestAPI<Version>('version');
      serverVersion = version.version;
      home = version.home ?? '';
      if (serverVersion !== this._frontendVersion) {
        problem = versionMismatch(this._frontendVersion, serverVersion);
      }
    } catch (error) {
      problem = problemFrom(error);
    }
    this._connection = { status: problem ? 'problem' : 'ok', serverVersion, problem, home };
    this._emit('connection');
    return problem === null;
  }

  /** Try again after a problem: the version check when it failed, else the list and details. */
  async retry(): Promise<void> {
    if (this._connection.status !== 'ok') {
      await this.start();
      return;
    }
    const selected = this._selected;
    await this.refresh();
    if (selected && this._details.problem) {
      await this.select(selected);
    }
  }

  updateSettings(settings: ReproSettings): void {
    const old = this._settings;
    this._settings = settings;
    this._emit('settings');
    const reload =
      old.trackingUri !== settings.trackingUri ||
      old.pageSize !== settings.pageSize ||
      (this._scope === 'experiment' && old.defaultExperiment !== settings.defaultExperiment);
    if (reload && this._connection.status === 'ok') {
      if (old.trackingUri !== settings.trackingUri) {
        this._clearSelection();
      }
      void this.refresh();
    }
  }

  /** Follow the notebook in focus. */
  setNotebook(path: string | null): void {
    if (path === this._notebookPath) {
      return;
    }
    this._notebookPath = path;
    ++this._capturedGeneration;
    this._emit('notebook');
    if (this._scope === 'notebook') {
      this._clearSelection();
      if (this._connection.status === 'ok') {
        void this.refresh();
      } else {
        this._resetRuns();
      }
    }
  }

  setScope(scope: Scope): void {
    if (scope === this._scope) {
      return;
    }
    this._scope = scope;
    ++this._capturedGeneration;
    this._emit('notebook');
    this._clearSelection();
    if (this._connection.status === 'ok') {
      void this.refresh();
    }
  }

  /**
   * A capture ran in the notebook: list it. Its run is stored after the cell returns
   * (the card says when), so while the newest run is still RUNNING the first page is
   * loaded again, quietly, a few times over about half a minute.
   */
  async captured(): Promise<void> {
    const generation = ++this._capturedGeneration;
    await this.refresh();
    for (const delay of STORING_CHECKS_MS) {
      const newest = this._runs.rows[0];
      if (!newest || newest.status !== 'RUNNING') {
        return;
      }
      await new Promise(resolve => setTimeout(resolve, delay));
      if (generation !== this._capturedGeneration || this._isDisposed) {
        return; // a later capture, another notebook or scope, or the end
      }
      if (!this._runs.loading) {
        // (a page being loaded meanwhile: the next look)
        await this._loadPage(null, true);
      }
    }
  }

  /**
   * Keep the list live: the first page is loaded again, quietly, every ``idleMs`` while
   * ``active()`` (the sidebar is shown and the page visible), every ``busyMs`` while a
   * listed run is still running. Reruns started from the card, captures from other
   * kernels and verdicts written meanwhile come in without a click. Disposing stops it.
   */
  watch(active: () => boolean, idleMs = LIVE_IDLE_MS, busyMs = LIVE_BUSY_MS): IDisposable {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const next = () => {
      // A run whose kernel was killed stays RUNNING in MLflow for ever: only a recent
      // one is looked at every few seconds.
      const recent = Date.now() - RUNNING_RECENT_MS;
      const busy = this._runs.rows.some(
        row => row.status === 'RUNNING' && Date.parse(row.start_time) > recent
      );
      timer = setTimeout(tick, busy ? busyMs : idleMs);
    };
    const tick = async () => {
      if (stopped || this._isDisposed) {
        return;
      }
      // (A list is loaded only while there is one to show: a notebook, or all runs.)
      if (
        active() &&
        this._connection.status === 'ok' &&
        this._runs.loaded &&
        !this._runs.loading
      ) {
        // Reruns started elsewhere (the card, another tab) share the server's jobs.
        await Promise.all([this._loadPage(null, true), this._jobs.find()]);
      }
      if (!stopped) {
        next();
      }
    };
    next();
    return {
      get isDisposed() {
        return stopped;
      },
      dispose: () => {
        stopped = true;
        if (timer !== null) {
          clearTimeout(timer);
        }
      }
    };
  }

  /** Load the first page of runs again. */
  async refresh(): Promise<void> {
    this._resetRuns();
    if (this._scope === 'notebook' && !this._notebookPath) {
      return; // nothing to list until a notebook is open
    }
    await this._loadPage(null);
  }

  /** Append the next page of runs. */
  async loadMore(): Promise<void> {
    if (this._runs.loading || !this._runs.nextPageToken) {
      return;
    }
    await this._loadPage(this._runs.nextPageToken);
  }

  /** Show a run's details (null: back to the list), its jobs and its environment drift. */
  async select(runId: string | null): Promise<void> {
    this._selected = runId;
    this._details = { value: null, loading: runId !== null, problem: null };
    this._environment = { value: null, loading: false, problem: null };
    this._opening = { which: null, value: null, loading: false, problem: null };
    this._emit('selection');
    if (runId === null) {
      return;
    }
    const generation = ++this._detailsGeneration;
    const current = () => generation === this._detailsGeneration && this._selected === runId;
    void this.findJobs(runId);
    try {
      const details = await requestAPI<RunDetails>(endpoint('runs', runId), {}, this._query());
      if (current()) {
        this._details = { value: details, loading: false, problem: null };
      }
    } catch (error) {
      if (current()) {
        this._details = { value: null, loading: false, problem: problemFrom(error) };
      }
    }
    if (current()) {
      this._emit('details');
      if (this._details.value) {
        await this.loadEnvironment();
      }
    }
  }

  /** The selected run's environment against the notebook's kernel (else the server's Python). */
  async loadEnvironment(): Promise<void> {
    const runId = this._selected;
    if (!runId) {
      return;
    }
    const generation = this._detailsGeneration;
    this._environment = { value: null, loading: true, problem: null };
    this._emit('environment');
    let next: Loadable<EnvironmentDrift>;
    try {
      const drift = await requestAPI<EnvironmentDrift>(
        endpoint('runs', runId, 'environment'),
        {},
        this._query({ notebook: this._notebookPath })
      );
      next = { value: drift, loading: false, problem: null };
    } catch (error) {
      next = { value: null, loading: false, problem: problemFrom(error) };
    }
    if (generation === this._detailsGeneration && this._selected === runId) {
      this._environment = next;
      this._emit('environment');
    }
  }

  /** Tick or untick a run for comparison; a third tick replaces the oldest. */
  toggleChecked(runId: string): void {
    if (this._checked.includes(runId)) {
      this._checked = this._checked.filter(id => id !== runId);
    } else {
      this._checked = [...this._checked, runId].slice(-2);
    }
    this._emit('checked');
  }

  /** The report comparing the two ticked runs, the older one as the original. */
  async compareChecked(): Promise<void> {
    if (this._checked.length !== 2) {
      return;
    }
    const [a, b] = this._orderByStart(this._checked[0], this._checked[1]);
    await this.compare(a, b);
  }

  async compare(a: string, b: string): Promise<void> {
    this._comparison = { a, b, value: null, loading: true, problem: null };
    this._emit('comparison');
    let next: ComparisonState;
    try {
      const report = await requestAPI<Report>('compare', {}, this._query({ a, b }));
      next = { a, b, value: report, loading: false, problem: null };
    } catch (error) {
      next = { a, b, value: null, loading: false, problem: problemFrom(error) };
    }
    if (this._comparison && this._comparison.a === a && this._comparison.b === b) {
      this._comparison = next;
      this._emit('comparison');
    }
  }

  closeComparison(): void {
    this._comparison = null;
    this._emit('comparison');
  }

  /**
   * The images of a report's cells whose images differ, read from both runs' recorded
   * outputs (a report keeps none). Asked once per report and kept: reports do not
   * change. An arrow function, so a component can be handed it as is.
   */
  readonly cellImages = (original: string, rerun: string, cells: number[]): Promise<CellImages> => {
    const key = `${this._settings.trackingUri}|${original}|${rerun}|${cells.join(',')}`;
    let found = this._cellImages.get(key);
    if (!found) {
      found = requestAPI<CellImages>(
        endpoint('compare', 'images'),
        {},
        this._query({ a: original, b: rerun, cells: cells.join(',') })
      );
      // A failure is not kept: the next view asks again.
      found.catch(() => this._cellImages.delete(key));
      this._cellImages.set(key, found);
      // Up to 8 MB each: only the last few reports' images are kept.
      for (const old of [...this._cellImages.keys()].slice(0, -KEPT_IMAGE_ANSWERS)) {
        this._cellImages.delete(old);
      }
    }
    return found;
  };
  private _cellImages = new Map<string, Promise<CellImages>>();

  /**
   * Find rerun jobs (they outlive a page reload): of one run, or of all runs when
   * `runId` is omitted. The newest job of each run is kept and followed while in flight.
   */
  async findJobs(runId?: string): Promise<void> {
    await this._jobs.find(runId);
  }

  /** Re-execute a run (options default to the settings) and follow the job to its verdict. */
  async rerun(runId: string, choice?: Partial<RerunChoice>): Promise<Job | null> {
    const request: RerunRequest = {
      run_id: runId,
      env: choice?.env ?? this._settings.rerunEnv,
      data: choice?.data ?? this._settings.rerunData
    };
    if (choice?.repeat !== undefined && choice.repeat > 1) {
      request.repeat = choice.repeat;
    }
    if (this._settings.trackingUri) {
      request.tracking_uri = this._settings.trackingUri;
    }
    return this._jobs.start(request);
  }

  /**
   * The way out of a pinned rerun that could not read its data (a version vacuumed, its
   * log cleaned up): the same rerun, same environment and times, on the latest data.
   */
  async rerunOnLatest(runId: string): Promise<Job | null> {
    const options = this.jobOf(runId)?.job?.options;
    return this.rerun(runId, {
      env: options?.env,
      repeat: options?.repeat,
      data: 'latest'
    });
  }

  /** Stop a run's job in flight. */
  async cancel(runId: string): Promise<void> {
    await this._jobs.cancel(runId);
  }

  /**
   * Capture the focused notebook's kernel session as a run.
   *
   * @param save - saves the notebook first, so the run records what is on screen
   */
  async captureNotebook(save?: () => Promise<unknown>): Promise<CaptureResult | null> {
    const notebook = this._notebookPath;
    if (!notebook) {
      this._capture = {
        notebook: null,
        value: null,
        loading: false,
        problem: {
          kind: 'bad-request',
          message: 'No notebook is open.',
          hint: 'Open the notebook to capture, run its cells, then click Capture run.',
          retry: false,
          status: null
        }
      };
      this._emit('capture');
      return null;
    }
    this._capture = { notebook, value: null, loading: true, problem: null };
    this._emit('capture');
    const body: CaptureRequest = { notebook };
    if (this._settings.defaultExperiment) {
      body.experiment = this._settings.defaultExperiment;
    }
    if (this._settings.trackingUri) {
      body.tracking_uri = this._settings.trackingUri;
    }
    try {
      if (save) {
        await save();
      }
      const result = await requestAPI<CaptureResult>('capture', {
        method: 'POST',
        body: JSON.stringify(body)
      });
      this._capture = { notebook, value: result, loading: false, problem: null };
      this._emit('capture');
      await this.refresh();
      await this.select(result.run_id);
      return result;
    } catch (error) {
      this._capture = { notebook, value: null, loading: false, problem: problemFrom(error) };
      this._emit('capture');
      return null;
    }
  }

  /**
   * Have the server write a copy of a run's replay (the code as the kernel executed it,
   * in execution order) or of its notebook as captured under its root, then open it.
   *
   * @param open - opens the returned path (relative to the server root), e.g. with the
   *   document manager
   */
  async openCaptured(
    runId: string,
    which: OpenWhich,
    open?: (path: string) => Promise<unknown>
  ): Promise<OpenResult | null> {
    const generation = this._detailsGeneration;
    const current = () => generation === this._detailsGeneration;
    this._opening = { which, value: null, loading: true, problem: null };
    this._emit('open');
    const body: OpenRequest = { which };
    if (this._settings.trackingUri) {
      body.tracking_uri = this._settings.trackingUri;
    }
    let next: OpenState;
    try {
      const result = await requestAPI<OpenResult>(endpoint('runs', runId, 'open'), {
        method: 'POST',
        body: JSON.stringify(body)
      });
      if (open) {
        await open(result.path);
      }
      next = { which, value: result, loading: false, problem: null };
    } catch (error) {
      next = { which, value: null, loading: false, problem: problemFrom(error) };
    }
    if (current()) {
      this._opening = next;
      this._emit('open');
    }
    return next.value;
  }

  dismissCapture(): void {
    this._capture = { notebook: null, value: null, loading: false, problem: null };
    this._emit('capture');
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._jobs.dispose();
    Signal.clearData(this);
  }

  /** Load a page of runs (``quiet``: the first page again, the list kept meanwhile). */
  private async _loadPage(token: string | null, quiet = false): Promise<void> {
    const generation = token === null ? ++this._runsGeneration : this._runsGeneration;
    if (!quiet) {
      this._runs = { ...this._runs, loading: true, problem: null };
      this._emit('runs');
    }
    const query: Query = { max_results: this._settings.pageSize, page_token: token };
    if (this._scope === 'notebook') {
      query.notebook = this._notebookPath;
    } else if (this._settings.defaultExperiment) {
      query.experiment = this._settings.defaultExperiment;
    }
    try {
      const page = await requestAPI<RunsPage>('runs', {}, this._query(query));
      if (generation !== this._runsGeneration) {
        return; // the notebook or scope changed meanwhile
      }
      if (quiet) {
        // Rows brought up to date, new runs on top; the pages loaded below are kept.
        const fresh = new Map(page.runs.map(r => [r.run_id, r]));
        const known = new Set(this._runs.rows.map(r => r.run_id));
        this._runs = {
          ...this._runs,
          rows: [
            ...page.runs.filter(r => !known.has(r.run_id)),
            ...this._runs.rows.map(r => fresh.get(r.run_id) ?? r)
          ]
        };
        this._emit('runs');
        return;
      }
      const seen = new Set(token === null ? [] : this._runs.rows.map(row => row.run_id));
      this._runs = {
        rows: [
          ...(token === null ? [] : this._runs.rows),
          ...page.runs.filter(r => !seen.has(r.run_id))
        ],
        nextPageToken: page.next_page_token || null,
        loaded: true,
        loading: false,
        problem: null
      };
    } catch (error) {
      if (quiet || generation !== this._runsGeneration) {
        return; // a quiet check that failed leaves the list as it was
      }
      this._runs = { ...this._runs, loading: false, problem: problemFrom(error) };
    }
    this._emit('runs');
  }

  private _resetRuns(): void {
    ++this._runsGeneration;
    this._runs = { rows: [], nextPageToken: null, loaded: false, loading: false, problem: null };
    this._emit('runs');
  }

  private _clearSelection(): void {
    ++this._detailsGeneration;
    this._selected = null;
    this._details = { value: null, loading: false, problem: null };
    this._environment = { value: null, loading: false, problem: null };
    this._opening = { which: null, value: null, loading: false, problem: null };
    this._checked = [];
    this._comparison = null;
    this._emit('selection');
  }

  /** Query arguments plus the tracking URI override. */
  private _query(args: Query = {}): Query {
    return this._settings.trackingUri
      ? { ...args, tracking_uri: this._settings.trackingUri }
      : args;
  }

  private _orderByStart(a: string, b: string): [string, string] {
    const start = (id: string) => this._runs.rows.find(row => row.run_id === id)?.start_time ?? '';
    return start(b) < start(a) ? [b, a] : [a, b];
  }

  /** A job ended: show its verdict on the run's row, and list the new rerun run. */
  private _finish(job: Job): void {
    this._jobFinished.emit(job);
    if (job.state !== 'succeeded' || !job.verdict) {
      return;
    }
    const verdict = job.verdict;
    const mode = job.options.data;
    const outcome: RerunOutcome = { verdict, rerun_id: job.rerun_run_id, data: null };
    const update = (row: RunRow): RunRow => ({
      ...row,
      verdict,
      // Until the list is loaded again (with the versions read): this mode's outcome.
      outcomes: { pinned: null, latest: null, ...row.outcomes, [mode]: outcome }
    });
    this._runs = {
      ...this._runs,
      rows: this._runs.rows.map(row => (row.run_id === job.run_id ? update(row) : row))
    };
    this._emit('runs');
    // The rerun is a new run at the top of the list; reload when only the first page is shown.
    const listed = this._scope === 'experiment' || this._notebookPath !== null;
    if (listed && this._runs.rows.length <= this._settings.pageSize) {
      void this._loadPage(null);
    }
  }

  private _emit(change: Change): void {
    if (!this._isDisposed) {
      this._changed.emit(change);
    }
  }

  private _settings: ReproSettings;
  private _frontendVersion: string;
  private _isDisposed = false;
  private _connection: ConnectionState = {
    status: 'unchecked',
    serverVersion: null,
    problem: null
  };
  private _capturedGeneration = 0;
  private _notebookPath: string | null = null;
  private _scope: Scope = 'notebook';
  private _runs: RunsState = {
    rows: [],
    nextPageToken: null,
    loaded: false,
    loading: false,
    problem: null
  };
  private _runsGeneration = 0;
  private _selected: string | null = null;
  private _details: Loadable<RunDetails> = { value: null, loading: false, problem: null };
  private _detailsGeneration = 0;
  private _environment: Loadable<EnvironmentDrift> = { value: null, loading: false, problem: null };
  private _checked: string[] = [];
  private _comparison: ComparisonState | null = null;
  private _capture: CaptureState = { notebook: null, value: null, loading: false, problem: null };
  private _opening: OpenState = { which: null, value: null, loading: false, problem: null };
  private _jobs: RerunJobs;
  private _changed = new Signal<this, Change>(this);
  private _jobFinished = new Signal<this, Job>(this);
}
