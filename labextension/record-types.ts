/* eslint-disable */
/**
 * GENERATED from nbrepro/schema/repro-1.schema.json by `jlpm gen:types`: do not edit.
 * Change the schema, then regenerate; a test fails when this file is stale.
 */

/**
 * This interface was referenced by `RunRecord`'s JSON-Schema
 * via the `definition` "error".
 */
export type Error = {
  ename: string;
  evalue: string;
  /**
   * 0-based, in the notebook as the user sees it.
   */
  cell_index?: number | null;
  execution_count?: number | null;
  /**
   * The failing execution's index in code.cells.
   */
  position?: number | null;
  [k: string]: unknown | undefined;
} & Error1;
export type Error1 = {
  ename: string;
  evalue: string;
  /**
   * 0-based, in the notebook as the user sees it.
   */
  cell_index?: number | null;
  execution_count?: number | null;
  /**
   * The failing execution's index in code.cells.
   */
  position?: number | null;
  [k: string]: unknown | undefined;
} | null;

export interface RunRecord {
  schema_version: 1;
  nbrepro_version: string;
  capture_id: string;
  mode: 'magic' | 'headless' | 'sidebar';
  created_at: string;
  run: {
    run_id: string;
    experiment_id: string;
    experiment_name: string | null;
    tracking_uri: string;
    run_name: string | null;
    status: 'FINISHED' | 'FAILED' | 'KILLED' | 'RUNNING';
    seed?: number | null;
    error?: Error;
    duration_seconds?: number | null;
    offline?: boolean;
    /**
     * papermill parameters the run was executed with (secret-named ones as [REDACTED]); a rerun replays them.
     */
    parameters?: {
      [k: string]: unknown | undefined;
    } | null;
    /**
     * Per-cell timeout in seconds a headless run was executed with.
     */
    timeout?: number | null;
    /**
     * A rerun: the run it re-executed.
     */
    reproduces?: string | null;
    [k: string]: unknown | undefined;
  };
  code: {
    cells: ExecutedCell[];
    document: {
      path: string | null;
      available: boolean;
      sha256?: string | null;
      cell_count?: number | null;
      missing_reason?: string | null;
      modified_at?: string | null;
      [k: string]: unknown | undefined;
    };
    hidden_state: {
      hidden: boolean;
      out_of_order: number[];
      edited_after_run: number[];
      missing_from_document: number[];
      never_executed: number[];
      explanations: string[];
      [k: string]: unknown | undefined;
    };
    capture_cell?: number | null;
    outputs_truncated?: boolean;
    /**
     * The byte cap the capture cell's recorded outputs were cut at (outputs_truncated); a rerun's outputs of that cell are cut the same way before they are compared.
     */
    outputs_limit?: number | null;
    [k: string]: unknown | undefined;
  };
  environment: {
    hash: string;
    python: {
      [k: string]: unknown | undefined;
    };
    packages: {
      name: string;
      version: string;
      source: {
        [k: string]: unknown | undefined;
      };
      [k: string]: unknown | undefined;
    }[];
    git?: {
      [k: string]: unknown | undefined;
    } | null;
    /**
     * The Jupyter kernel the run used; name is null when nothing named it (an unsaved notebook).
     */
    kernel?: {
      name: string | null;
      display_name: string | null;
      language: string | null;
      /**
       * The kernelspec's command line.
       */
      argv: string[] | null;
      /**
       * The Python the kernel ran.
       */
      interpreter: string | null;
      /**
       * Whether the kernelspec existed where the run was captured.
       */
      installed: boolean;
      /**
       * Why the kernelspec could not be read, when it could not.
       */
      note?: string;
      [k: string]: unknown | undefined;
    } | null;
    [k: string]: unknown | undefined;
  };
  data: {
    reads: DeltaRead[];
    writes: DeltaWrite[];
    notes: string[];
    /**
     * The Spark Connect servers the run used.
     */
    spark?: {
      /**
       * Spark Connect addresses (sc://host:port), token and secret parameters removed.
       */
      remotes?: string[];
      [k: string]: unknown | undefined;
    };
    [k: string]: unknown | undefined;
  };
  artifacts: {
    [k: string]: string | undefined;
  };
  warnings: string[];
}
/**
 * This interface was referenced by `RunRecord`'s JSON-Schema
 * via the `definition` "executed_cell".
 */
export interface ExecutedCell {
  execution_count: number | null;
  source: string;
  doc_index: number | null;
  cell_id: string | null;
  error: Error;
  error_known?: boolean;
  /**
   * A rerun's execution: the index, in the original's code.cells, of the execution it replays.
   */
  origin?: number | null;
  /**
   * papermill's injected-parameters cell.
   */
  injected_parameters?: boolean;
  [k: string]: unknown | undefined;
}
/**
 * This interface was referenced by `RunRecord`'s JSON-Schema
 * via the `definition` "delta_read".
 */
export interface DeltaRead {
  uri: string;
  table_id: string | null;
  version: number;
  requested_version?: number | string | null;
  pinned_by_user: boolean;
  latest_at_read?: boolean;
  commit_timestamp?: string | null;
  file_fingerprint: string | null;
  num_files?: number | null;
  reads?: number;
  first_seen?: string;
  /**
   * What read the table: deltalake, a library over it (pandas, polars...), or spark.
   */
  via?: string;
  /**
   * A rerun held the read at the recorded version.
   */
  pinned_by_nbrepro?: boolean;
  /**
   * The catalog name a Spark read used; uri is its location.
   */
  table_name?: string;
  /**
   * How an object-store table was reached (endpoint, region, allow-http, addressing style, profile name); never credentials.
   */
  storage_options?: {
    [k: string]: string | undefined;
  };
  [k: string]: unknown | undefined;
}
/**
 * This interface was referenced by `RunRecord`'s JSON-Schema
 * via the `definition` "delta_write".
 */
export interface DeltaWrite {
  uri: string;
  table_id?: string | null;
  version: number | null;
  mode?: string | null;
  [k: string]: unknown | undefined;
}
