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
 * Which data a rerun reads: the Delta versions the run read, or each table's latest.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "DataMode".
 */
export type DataMode = 'pinned' | 'latest';
/**
 * Why a version a run read can no longer be pinned. files_missing: its data files were deleted (vacuumed); version_unavailable: its log entries were cleaned up (or the table never had it); table_replaced: the table was re-created; table_missing: the table is gone. Not proof either way: not_checked (object-store data files could not be asked for), unreachable (the table cannot be opened from here).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "PinProblemKind".
 */
export type PinProblemKind =
  | 'files_missing'
  | 'version_unavailable'
  | 'table_replaced'
  | 'table_missing'
  | 'not_checked'
  | 'unreachable';
/**
 * Which Python a rerun uses: the current one (drift reported), or one rebuilt from the recorded packages.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "EnvMode".
 */
export type EnvMode = 'current' | 'recorded';
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
 * GET version: the server extension's version, and the server's home folder (paths under it are shown as ~/...).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "Version".
 */
export interface Version {
  version: string;
  /**
   * The Jupyter server user's home folder; the sidebar shows a path under it as ~/... (the whole path on hover).
   */
  home?: string;
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
  /**
   * For a rerun: the data it read (pinned to the versions recorded, or the latest).
   */
  data_mode: DataMode | null;
  /**
   * For an original: its latest pinned and latest-data reruns, apart (null: none, or reruns from before nbrepro kept them apart; see verdict).
   */
  outcomes: RerunOutcomes | null;
}
/**
 * A run's latest rerun of each data mode.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RerunOutcomes".
 */
export interface RerunOutcomes {
  pinned: RerunOutcome | null;
  latest: RerunOutcome | null;
}
/**
 * One rerun's verdict, its run and the versions it read.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "RerunOutcome".
 */
export interface RerunOutcome {
  verdict: Verdict;
  rerun_id: string | null;
  /**
   * The versions read, short: "v0", "events v1, users v3".
   */
  data: string | null;
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
  /**
   * For a moved table: whether the version read can still be pinned (absent for current, re-created or unavailable tables).
   */
  pin?: PinCheck;
}
/**
 * Whether a pinned rerun can still read the version a run read.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "PinCheck".
 */
export interface PinCheck {
  /**
   * false: it can no longer be read as it was (reason says why); null: it could not be told from here.
   */
  readable: boolean | null;
  reason: PinProblemKind | null;
  /**
   * For people, e.g. '20 of 20 data files are missing (vacuumed?)'.
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
  /**
   * For a table the runs read at different versions: what the Delta log says happened between them (absent in reports from before nbrepro read it, and when the versions are the same).
   */
  changes?: DeltaLogChanges;
}
/**
 * What the Delta log says happened to a table between the versions two runs read: the commits after from_version up to to_version (oldest first; at most the 50 nearest to_version) and their totals. A total is null (unknown) when a commit does not say it, a commit is no longer in the log, or commits were left out. note: why the log could not be read, or what is missing; empty otherwise.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "DeltaLogChanges".
 */
export interface DeltaLogChanges {
  /**
   * The lower of the two versions.
   */
  from_version: number;
  /**
   * The higher of the two versions.
   */
  to_version: number;
  /**
   * The second run (the rerun) read the older version.
   */
  backwards: boolean;
  /**
   * to_version - from_version: the commits in between, read or not.
   */
  commits_between: number;
  /**
   * Commits not read (beyond the cap), the oldest ones.
   */
  left_out: number;
  commits: DeltaCommit[];
  /**
   * Total rows added.
   */
  rows_added: number | null;
  /**
   * Total rows removed.
   */
  rows_removed: number | null;
  /**
   * Total rows updated.
   */
  rows_updated: number | null;
  /**
   * Total data files added.
   */
  files_added: number | null;
  /**
   * Total data files removed.
   */
  files_removed: number | null;
  note: string;
}
/**
 * One commit of a Delta table's log, from its commitInfo (what deltalake's DeltaTable.history() returns). A count is null when the commit's operationMetrics do not say it (unknown, never guessed).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "DeltaCommit".
 */
export interface DeltaCommit {
  version: number;
  /**
   * WRITE, MERGE, DELETE, UPDATE, OPTIMIZE, ...
   */
  operation: string;
  /**
   * A WRITE's mode (Append, Overwrite, ...).
   */
  mode: string | null;
  /**
   * When it was committed (ISO-8601, UTC).
   */
  timestamp: string | null;
  /**
   * Rows added (inserted).
   */
  rows_added: number | null;
  /**
   * Rows removed (deleted).
   */
  rows_removed: number | null;
  /**
   * Rows updated in place.
   */
  rows_updated: number | null;
  /**
   * Data files added.
   */
  files_added: number | null;
  /**
   * Data files removed from the table (not deleted: a vacuum deletes them).
   */
  files_removed: number | null;
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
 * A cell of the replay added, removed or modified. index_a and index_b are keys (positions in each run's replay, 0-based; null on the side without the cell), never shown: label_a and label_b say how a user finds the cell in JupyterLab.
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
  /**
   * The original's cell as a user finds it, e.g. 'In [3] (cell 4)': its execution count, and its place in the notebook counting from 1. null on the side without the cell; absent in reports of an older nbrepro.
   */
  label_a?: string | null;
  /**
   * The same for the run compared with it (a rerun's cell named as the original's notebook names it).
   */
  label_b?: string | null;
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
   * 0-based index of the cell in the rerun's notebook (a key, not for a reader: the replay holds only executed cells); -1 when unknown.
   */
  cell_index: number;
  execution_count: number | null;
  /**
   * The cell as a reader finds it in JupyterLab, e.g. 'In [2] (cell 3)'; a replayed cell as the original's notebook names it, then the rerun's own count: 'In [5] (cell 7), the rerun's In [3]'.
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
  /**
   * With state failed: why, when a client can act on it (absent from older jobs).
   */
  error_reason?: JobErrorReason | null;
}
/**
 * Why a rerun job could not run, for a client to act on. pinned-data-unavailable: a version it pins can no longer be read (vacuumed, log cleaned up, table re-created): the same rerun with data 'latest' can run; data-gone: a table it read is gone, no rerun can read it.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "JobErrorReason".
 */
export interface JobErrorReason {
  code: 'pinned-data-unavailable' | 'data-gone';
  tables: UnavailableTable[];
}
/**
 * A table a rerun cannot read as asked.
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "UnavailableTable".
 */
export interface UnavailableTable {
  uri: string;
  /**
   * The version the run read.
   */
  version: number;
  kind: PinProblemKind;
  /**
   * The command line's words for it.
   */
  detail: string;
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
  run_name?: string | null;
  /**
   * When the run was captured (ISO 8601).
   */
  captured_at?: string | null;
  /**
   * The document only: when the notebook file was saved before the capture (it may be older than what ran; null when unknown).
   */
  saved_at?: string | null;
}
/**
 * One image output of a cell (PNG, JPEG or SVG).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CellImage".
 */
export interface CellImage {
  mime: 'image/png' | 'image/jpeg' | 'image/svg+xml';
  /**
   * Length of data (base64 characters, or SVG text).
   */
  bytes: number;
  /**
   * Base64 for PNG and JPEG, the SVG's text; null when left out (the answer's byte cap).
   */
  data: string | null;
}
/**
 * The images one cell showed in each run, in output order (the i-th of each side are compared).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CellImagesPair".
 */
export interface CellImagesPair {
  /**
   * The cell's key, as OutputCellDiff.cell.
   */
  cell: number;
  /**
   * The cell as a user finds it, e.g. 'In [3] (cell 4)'.
   */
  label: string;
  original: CellImage[];
  rerun: CellImage[];
}
/**
 * GET compare/images: the images of a report's cells, read from each run's recorded outputs (reports keep none).
 *
 * This interface was referenced by `NbreproApi`'s JSON-Schema
 * via the `definition` "CellImages".
 */
export interface CellImages {
  original: string;
  rerun: string;
  /**
   * The cap on the image data of one answer.
   */
  max_bytes: number;
  /**
   * Images listed without their data: their cell's images did not fit under max_bytes.
   */
  left_out: number;
  cells: CellImagesPair[];
}
