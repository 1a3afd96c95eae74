/* eslint-disable */
/**
 * GENERATED from nbrepro/schema/api-1.schema.json by `jlpm gen:types`: do not edit.
 * Change the schema, then regenerate; a test fails when this file is stale.
 */

/**
 * bad-request: a request to fix (400); tracking-uri-refused: the request names a tracking store that is not a tracking URI, of an unknown scheme, or does not exist (400); tracking-uri-not-allowed: the server's c.NbreproServer.allowed_tracking_uris does not let requests name that store (403); run-not-found, job-not-found, not-captured: no such run or job, or the run did not record that notebook (404); kernel-not-running, kernel-busy: the notebook's kernel cannot be asked now (409); kernel-call-failed, outside-root, internal, http-error: the server failed (5xx, or another HTTP error); tracking-unavailable: the MLflow store cannot be reached (503); forbidden: not authenticated (403).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ErrorCode".
 */
export type ErrorCode =
  | 'bad-request'
  | 'tracking-uri-refused'
  | 'tracking-uri-not-allowed'
  | 'run-not-found'
  | 'job-not-found'
  | 'not-captured'
  | 'kernel-not-running'
  | 'kernel-busy'
  | 'kernel-call-failed'
  | 'outside-root'
  | 'tracking-unavailable'
  | 'forbidden'
  | 'http-error'
  | 'internal';
/**
 * A reproduction report's verdict: reproduced, the results differ, or the rerun failed (or nothing could be compared).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "Verdict".
 */
export type Verdict = 'reproduced' | 'differs' | 'failed';
/**
 * Which Python a rerun uses: the current one (drift reported), or one rebuilt from the recorded packages.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "EnvMode".
 */
export type EnvMode = 'current' | 'recorded';
/**
 * Which data a rerun reads: the Delta versions the run read, or each table's latest.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "DataMode".
 */
export type DataMode = 'pinned' | 'latest';
/**
 * A rerun job's state.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "JobState".
 */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * Any error response: what failed or what to fix, and the HTTP status.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ErrorBody".
 */
export interface ErrorBody {
  message: string;
  status: number;
  /**
   * What kind of error, for clients to act on without reading the message: a route nbrepro does not have never answers with this body.
   */
  code: ErrorCode;
}
/**
 * GET version: the server extension's version.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "Version".
 */
export interface Version {
  version: string;
}
/**
 * One run in a runs list, newest first. Built from one MLflow search: no artifact is read.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RunRow".
 */
export interface RunRow {
  run_id: string;
  run_name: string | null;
  experiment_id: string;
  /**
   * MLflow run status: RUNNING, FINISHED, FAILED, KILLED, SCHEDULED.
   */
  status: string;
  /**
   * ISO 8601, UTC.
   */
  start_time: string;
  /**
   * Absolute path of the notebook the run was captured from.
   */
  notebook: string | null;
  /**
   * For a rerun: the run it re-executed.
   */
  reproduces: string | null;
  /**
   * A rerun's verdict, or for an original the verdict of its latest rerun.
   */
  verdict: Verdict | null;
  hidden_state: boolean;
  metrics: {
    [k: string]: number | undefined;
  };
  /**
   * Whether a Delta table the run read has moved or been re-created since; null when unknown (a table cannot be opened, or the run predates the nbrepro.delta_reads tag).
   */
  data_changed: boolean | null;
  /**
   * URIs of the tables that changed.
   */
  changed_tables: string[];
  /**
   * Number of distinct Delta tables the run read.
   */
  tables: number;
}
/**
 * GET runs: one page of runs.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RunsPage".
 */
export interface RunsPage {
  runs: RunRow[];
  /**
   * Pass as page_token for the next page; null on the last page.
   */
  next_page_token: string | null;
}
/**
 * A Delta table a run read, against its state now.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "TableDrift".
 */
export interface TableDrift {
  uri: string;
  version_read: number;
  table_id: string | null;
  current_version: number | null;
  state: 'current' | 'moved' | 'recreated' | 'unavailable';
  /**
   * For people: 'v0 read, table now at v3', or why the table cannot be opened.
   */
  detail: string;
}
/**
 * GET runs/RUN_ID: what the run captured, and data drift.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RunDetails".
 */
export interface RunDetails {
  run_id: string;
  status: string;
  tags: {
    [k: string]: string | undefined;
  };
  params: {
    [k: string]: string | undefined;
  };
  metrics: {
    [k: string]: number | undefined;
  };
  record: RunRecordSummary;
  environment: RunEnvironmentSummary;
  drift: TableDrift[];
  /**
   * Model versions registered from this run (absent when the registry could not be asked).
   */
  models?: RegisteredModelVersion[];
}
/**
 * Sections of the run record (nbrepro/schema/repro-1.schema.json defines them).
 */
export interface RunRecordSummary {
  run: {
    [k: string]: unknown | undefined;
  };
  code: {
    [k: string]: unknown | undefined;
  };
  data: {
    [k: string]: unknown | undefined;
  };
  warnings: string[];
  mode: 'magic' | 'headless' | 'sidebar';
  created_at: string;
}
/**
 * The recorded environment, summarized.
 */
export interface RunEnvironmentSummary {
  hash: string;
  python: {
    [k: string]: unknown | undefined;
  };
  /**
   * Number of packages recorded.
   */
  packages: number;
  os: {
    [k: string]: unknown | undefined;
  } | null;
  hardware: {
    [k: string]: unknown | undefined;
  } | null;
  git: {
    [k: string]: unknown | undefined;
  } | null;
}
/**
 * A model version registered from a run, and the verdict of its last rerun through models:/.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RegisteredModelVersion".
 */
export interface RegisteredModelVersion {
  name: string;
  version: string;
  aliases: string[];
  /**
   * The nbrepro.verdict tag on the version.
   */
  verdict: string | null;
  /**
   * The run id of the version's last rerun (nbrepro.last_rerun).
   */
  last_rerun: string | null;
}
/**
 * A package and its version.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "PackageVersion".
 */
export interface PackageVersion {
  name: string;
  version: string;
}
/**
 * A package whose version or install source changed.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "PackageChange".
 */
export interface PackageChange {
  name: string;
  old: string;
  new: string;
  old_source?: {
    [k: string]: unknown | undefined;
  } | null;
  new_source?: {
    [k: string]: unknown | undefined;
  } | null;
}
/**
 * A recorded value and the live one (or the rerun's).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "SystemChange".
 */
export interface SystemChange {
  original: unknown;
  rerun: unknown;
}
/**
 * GET runs/RUN_ID/environment: the recorded environment against a live one.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "EnvironmentDrift".
 */
export interface EnvironmentDrift {
  /**
   * Whose environment the run is compared with: the notebook's running kernel, or this server's Python.
   */
  against: 'kernel' | 'server';
  /**
   * The kernel's name (kernelspec) when against is 'kernel'.
   */
  kernel: string | null;
  /**
   * No difference in Python, packages, OS or hardware.
   */
  same: boolean;
  /**
   * [recorded, now], as 'CPython 3.11.9'.
   *
   * @minItems 2
   * @maxItems 2
   */
  python: [string, string];
  packages: PackageDrift;
  /**
   * OS and hardware differences, by key ('os.release', 'hardware.cpu_model', ...).
   */
  system: {
    [k: string]: SystemChange;
  };
}
/**
 * Package differences from the recorded environment to the live one.
 */
export interface PackageDrift {
  added: PackageVersion[];
  removed: PackageVersion[];
  changed: PackageChange[];
  same: boolean;
}
/**
 * POST reruns body.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RerunRequest".
 */
export interface RerunRequest {
  run_id: string;
  /**
   * Run in the server's environment (drift reported), or in one rebuilt from the recorded packages.
   */
  env?: EnvMode & string;
  /**
   * Read Delta tables at the recorded versions, or at their current ones.
   */
  data?: DataMode & string;
  /**
   * Relative tolerance for every metric (default: exact).
   */
  tolerance?: number | null;
  /**
   * With env 'recorded': rebuild without packages no registry has.
   */
  allow_missing?: boolean;
  /**
   * Re-execute this many times under the same pins and environment, and compare the reruns with each other too (nondeterminism told apart from drift).
   */
  repeat?: number;
  /**
   * The store holding the run (default: the server's).
   */
  tracking_uri?: string | null;
}
/**
 * The options a rerun job runs with.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "JobOptions".
 */
export interface JobOptions {
  env: EnvMode;
  data: DataMode;
  tolerance: number | null;
  allow_missing: boolean;
  /**
   * Reruns under the same pins (absent: one).
   */
  repeat?: number;
}
/**
 * Where a rerun job is.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "JobProgress".
 */
export interface JobProgress {
  /**
   * Cells of the replay executed so far.
   */
  cells_done: number;
  /**
   * Cells of the replay; 0 until execution starts.
   */
  cells_total: number;
  phase: 'queued' | 'checking data' | 'building environment' | 'executing' | 'comparing' | 'done';
}
/**
 * One read of a Delta table by one of the two runs.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "TableVersionRead".
 */
export interface TableVersionRead {
  version: number;
  table_id: string | null;
  /**
   * Hash of the data files read (null when not recorded).
   */
  file_fingerprint: string | null;
}
/**
 * A Delta table either run read: the versions each read.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "TableComparison".
 */
export interface TableComparison {
  uri: string;
  same: boolean;
  original: TableVersionRead[];
  rerun: TableVersionRead[];
  /**
   * Why it differs, for people ('moved: v0 -> v2', 'table re-created (different table id)', 'read only by the rerun'); empty when the same.
   */
  note: string;
}
/**
 * Report section data: the Delta tables read, by URI.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "DataComparison".
 */
export interface DataComparison {
  same: boolean;
  tables: TableComparison[];
}
/**
 * The Python of each run, as 'CPython 3.11.9'.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "PythonChange".
 */
export interface PythonChange {
  old: string;
  new: string;
}
/**
 * Python and package differences from the original's environment to the rerun's.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "PackagesComparison".
 */
export interface PackagesComparison {
  /**
   * Same Python and packages.
   */
  same: boolean;
  /**
   * null when the same.
   */
  python: PythonChange | null;
  added: PackageVersion[];
  removed: PackageVersion[];
  changed: PackageChange[];
}
/**
 * Report section environment: drift is reported but alone does not make a run differ.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "EnvironmentComparison".
 */
export interface EnvironmentComparison {
  /**
   * Same environment hash, packages, OS and hardware.
   */
  same: boolean;
  /**
   * [original, rerun] environment hashes.
   *
   * @minItems 2
   * @maxItems 2
   */
  hash: [string | null, string | null];
  packages: PackagesComparison;
  /**
   * OS and hardware differences, by key ('os.release', 'hardware.cpu_model', ...).
   */
  system: {
    [k: string]: SystemChange;
  };
}
/**
 * A cell of the replay added, removed or modified (indices are positions in each run's replay; null on the side without the cell).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CodeChange".
 */
export interface CodeChange {
  kind: 'added' | 'removed' | 'modified';
  index_a: number | null;
  index_b: number | null;
  source_a: string | null;
  source_b: string | null;
  /**
   * Unified diff of a modified cell; empty otherwise.
   */
  diff: string;
}
/**
 * Report section code: the two replays' code cells compared.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CodeComparison".
 */
export interface CodeComparison {
  same: boolean;
  changes: CodeChange[];
  /**
   * 'identical', or e.g. '2 cells modified, 1 added'.
   */
  summary: string;
}
/**
 * A param or metric of both runs (null where a run lacks it).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ValueComparison".
 */
export interface ValueComparison {
  name: string;
  original: number | string | null;
  rerun: number | string | null;
  same: boolean;
  /**
   * The relative tolerance applied (numbers only; 0 is exact).
   */
  tolerance?: number;
}
/**
 * Report sections params (exact) and metrics (relative tolerance).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ValuesComparison".
 */
export interface ValuesComparison {
  same: boolean;
  compared: number;
  values: ValueComparison[];
}
/**
 * A cell whose outputs differ.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "OutputCellDiff".
 */
export interface OutputCellDiff {
  /**
   * The cell's identity: its position in the original's executed sequence (a rerun's cells are matched to the executions they replay).
   */
  cell: number;
  /**
   * The cell as a reader finds it in the original, e.g. 'In [3] (cell 4)'.
   */
  label: string;
  same: boolean;
  /**
   * Unified diff of the outputs after removing noise, at most 40 lines.
   */
  diff: string;
  images_differ: boolean;
  /**
   * The kinds of volatile values (times, durations) that explain the whole difference; empty when they do not.
   */
  volatile: ('times' | 'durations')[];
  /**
   * False when the difference is volatile and the comparison was asked to ignore volatile values.
   */
  counted: boolean;
  /**
   * One run's outputs of the cell are the other's cut short.
   */
  truncation: boolean;
}
/**
 * Report section outputs: the cells both runs recorded outputs of, stdout, stderr and rich outputs after removing noise; and how each run ended.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "OutputsComparison".
 */
export interface OutputsComparison {
  same: boolean;
  compared: number;
  /**
   * Compared cells that showed anything in either run (a cell that printed nothing in both shows nothing).
   */
  with_outputs: number;
  cells: OutputCellDiff[];
  /**
   * Cells the original ran and the rerun did not (a difference).
   */
  only_in_a: number[];
  /**
   * Cells the rerun ran and the original did not (a difference).
   */
  only_in_b: number[];
  /**
   * How a reader finds the cells of only_in_a, e.g. 'In [3] (cell 4)'.
   */
  not_rerun: string[];
  /**
   * Every differing cell differs only in volatile values.
   */
  volatile_only: boolean;
  failures: FailuresComparison;
  /**
   * Cells only one run recorded outputs of (not a difference).
   */
  recorded_by_one_side: number[];
  /**
   * Cells whose outputs the original recorded only in part (its output cap): compared as far as recorded.
   */
  capped: {
    cell: number;
    label: string;
    limit: number;
  }[];
}
/**
 * How each run ended: null when it completed, else the error that ended it. same: both completed, or both failed in the same cell with the same error.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "FailuresComparison".
 */
export interface FailuresComparison {
  same: boolean;
  original: RunFailure | null;
  rerun: RunFailure | null;
}
/**
 * The error that ended a run, and the cell it ended in.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RunFailure".
 */
export interface RunFailure {
  /**
   * The cell's identity (as OutputCellDiff.cell); null when the run stopped before any cell, or in a cell that replays none of the original's (papermill's new parameters cell).
   */
  cell: number | null;
  /**
   * The cell as a reader finds it, e.g. 'In [2] (cell 3)'.
   */
  label: string;
  ename: string;
  evalue: string;
}
/**
 * The report's sections, causes before effects.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ReportSections".
 */
export interface ReportSections {
  data: DataComparison;
  environment: EnvironmentComparison;
  code: CodeComparison;
  params: ValuesComparison;
  metrics: ValuesComparison;
  outputs: OutputsComparison;
  model?: ModelComparison;
}
/**
 * The MLflow models the runs logged, paired by name (only when either run logged one).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ModelComparison".
 */
export interface ModelComparison {
  same: boolean;
  compared: number;
  models: ModelRow[];
  [k: string]: unknown | undefined;
}
/**
 * One model name: whether it is the same model in both runs, and why not.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ModelRow".
 */
export interface ModelRow {
  name: string;
  same: boolean;
  /**
   * Why it was not compared part by part.
   */
  note?: string;
  /**
   * The original's logged model id.
   */
  original?: string;
  /**
   * The rerun's logged model id.
   */
  rerun?: string;
  flavors?: {
    same: boolean;
    original?: unknown;
    rerun?: unknown;
    [k: string]: unknown | undefined;
  };
  signature?: {
    same: boolean;
    original?: unknown;
    rerun?: unknown;
    [k: string]: unknown | undefined;
  };
  requirements?: {
    same: boolean;
    original?: unknown;
    rerun?: unknown;
    [k: string]: unknown | undefined;
  };
  bytes_identical?: boolean;
  predictions?: {
    /**
     * null: not compared (see note).
     */
    same: boolean | null;
    note?: string;
    rows?: number;
    max_difference?: number | null;
    [k: string]: unknown | undefined;
  };
  [k: string]: unknown | undefined;
}
/**
 * The rerun's failure when it is not the original's (verdict failed, or differs when the same cell failed another way).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "ReportFailure".
 */
export interface ReportFailure {
  /**
   * 0-based index of the cell in the rerun's notebook; -1 when unknown.
   */
  cell_index: number;
  execution_count: number | null;
  /**
   * The cell as a reader finds it, e.g. 'In [2] (cell 2), the original's In [5]'.
   */
  cell: string;
  ename: string;
  evalue: string;
}
/**
 * The reproduction report (nbrepro/report.json; see docs/run-layout.md). A rerun's also has data_mode, env_mode, environment_build and pins; in a Job it also has run_id (the rerun) and reproduces.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "Report".
 */
export interface Report {
  /**
   * reproduced: every compared result is the same (a failure of the original, reproduced, included); differs: data, code or a result differs; failed: the rerun failed where the original did not, or nothing could be compared.
   */
  verdict: Verdict;
  differs: string[];
  drift: string[];
  original: string;
  rerun: string;
  failure: ReportFailure | null;
  /**
   * The original's failure, when the rerun failed the same way (same cell, same error): part of a reproduction.
   */
  failure_reproduced: RunFailure | null;
  /**
   * Volatile values in differing outputs: which kinds, whether only they differ, whether they were ignored (--ignore-volatile).
   */
  volatile: {
    ignored: boolean;
    kinds: ('times' | 'durations')[];
    only: boolean;
  };
  sections: ReportSections;
  notes: string[];
  /**
   * A rerun's data option.
   */
  data_mode?: DataMode;
  /**
   * A rerun's environment option.
   */
  env_mode?: EnvMode;
  repeat?: RepeatComparison;
  [k: string]: unknown | undefined;
}
/**
 * `rerun --repeat N`: the reruns compared with the first of them.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RepeatComparison".
 */
export interface RepeatComparison {
  runs: string[];
  verdicts?: string[];
  agree: boolean;
  first_divergence: null | {
    cell: number;
    label: string;
    [k: string]: unknown | undefined;
  };
  params: string[];
  metrics: string[];
  likely_causes: string[];
  [k: string]: unknown | undefined;
}
/**
 * A rerun job. succeeded: the rerun produced a verdict (reproduced, differs, or failed when a cell of the rerun raised); failed: it could not run (error says why); cancelled: stopped by a DELETE.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "Job".
 */
export interface Job {
  job_id: string;
  run_id: string;
  options: JobOptions;
  state: JobState;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: JobProgress;
  /**
   * The last lines of the rerun's log (its stderr).
   */
  log_tail: string[];
  verdict: Verdict | null;
  /**
   * The run the rerun logged.
   */
  rerun_run_id: string | null;
  /**
   * Exit code of nbrepro rerun; null while it runs or when the server that started it stopped first.
   */
  exit_code: number | null;
  error: string | null;
  /**
   * The report, once succeeded.
   */
  report: Report | null;
}
/**
 * GET reruns: jobs, newest first.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "JobsList".
 */
export interface JobsList {
  jobs: Job[];
}
/**
 * POST capture body.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CaptureRequest".
 */
export interface CaptureRequest {
  /**
   * The notebook's path, relative to the server root.
   */
  notebook: string;
  experiment?: string | null;
  /**
   * Run name.
   */
  name?: string | null;
  tracking_uri?: string | null;
}
/**
 * POST capture: the run made from the kernel's session.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CaptureResult".
 */
export interface CaptureResult {
  run_id: string;
  run_name: string | null;
  experiment_id: string;
  experiment_name: string | null;
  status: string;
  /**
   * Executed cells recorded.
   */
  cells: number;
  hidden_state: boolean;
  tables: TableRead[];
  /**
   * What the user should know (e.g. the run was saved locally because the store is unreachable).
   */
  warning: string | null;
}
/**
 * A Delta table version the session read.
 */
export interface TableRead {
  uri: string;
  version: number;
}
/**
 * POST runs/RUN_ID/open body.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "OpenRequest".
 */
export interface OpenRequest {
  /**
   * The replay (the code as the kernel executed it, in execution order) or the notebook document as saved at capture.
   */
  which: 'replay' | 'document';
  /**
   * The store holding the run (default: the server's).
   */
  tracking_uri?: string | null;
}
/**
 * POST runs/RUN_ID/open: the copy written under the server root, to open with the document manager.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "OpenResult".
 */
export interface OpenResult {
  /**
   * Relative to the server root, POSIX ('nbrepro-runs/train-0a1b2c3d.replay.ipynb').
   */
  path: string;
  run_id: string;
  which: 'replay' | 'document';
}
