"""Every tag nbrepro writes or reads: MLflow run tags and notebook cell tags.

One definition each, imported by capture, the store, reruns, the CLI, the server and
the card. The ``mlflow.*`` names are MLflow's own (``mlflow.utils.mlflow_tags``,
checked equal by a test): that module imports mlflow, which a kernel must not pay for
before its first capture.
"""

from __future__ import annotations

from collections.abc import Mapping

# nbrepro's run tags.
SCHEMA_VERSION_TAG = "nbrepro.schema_version"
VERSION_TAG = "nbrepro.version"
CAPTURE_ID_TAG = "nbrepro.capture_id"  # also what makes a run "an nbrepro run"
CAPTURE_ERROR_TAG = "nbrepro.capture_error"  # nbrepro failed while capturing this run
MODE_TAG = "nbrepro.mode"
ENV_HASH_TAG = "nbrepro.env_hash"
HIDDEN_STATE_TAG = "nbrepro.hidden_state"  # "true" | "false"
CELLS_TAG = "nbrepro.cells"
DELTA_TABLES_TAG = "nbrepro.delta_tables"
DELTA_READS_TAG = "nbrepro.delta_reads"  # compact list of reads (see nbrepro.record.delta_reads)
NOTEBOOK_TAG = "nbrepro.notebook"
SEED_TAG = "nbrepro.seed"
# A rerun's own tags, and what it leaves on the run it reproduces.
REPRODUCES_TAG = "nbrepro.reproduces"
DATA_MODE_TAG = "nbrepro.data"
ENV_MODE_TAG = "nbrepro.env"
VERDICT_TAG = "nbrepro.verdict"
LAST_VERDICT_TAG = "nbrepro.last_verdict"
LAST_RERUN_TAG = "nbrepro.last_rerun"
# The latest rerun of each data mode ("pinned", "latest"): its verdict, its run and the
# versions it read ("v0", "events v1, users v3"). A pinned rerun that reproduced and a
# latest one that differs say different things: "does not reproduce" is not "the data
# moved since".
LAST_VERDICT_OF_MODE_TAG = "nbrepro.last_verdict.{mode}"
LAST_RERUN_OF_MODE_TAG = "nbrepro.last_rerun.{mode}"
LAST_DATA_OF_MODE_TAG = "nbrepro.last_data.{mode}"

# MLflow's system tags that nbrepro sets or reads.
MLFLOW_RUN_NAME_TAG = "mlflow.runName"
MLFLOW_SOURCE_TYPE_TAG = "mlflow.source.type"
MLFLOW_SOURCE_NAME_TAG = "mlflow.source.name"
MLFLOW_GIT_COMMIT_TAG = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH_TAG = "mlflow.source.git.branch"
MLFLOW_GIT_REPO_URL_TAG = "mlflow.source.git.repoURL"
MLFLOW_NOTE_TAG = "mlflow.note.content"
MLFLOW_LOG_MODEL_TAG_PREFIX = "mlflow.log-model"
# A dataset input's tag (``mlflow.data.context``): how the run used the dataset.
MLFLOW_DATASET_CONTEXT_TAG = "mlflow.data.context"

# Notebook cell tags.
REPLAY_TAG = "nbrepro-replay"  # a cell of the replay notebook
INJECTED_TAG = "nbrepro-injected"  # nbrepro's note at the top of a rerun's notebook
EXPECTED_ERROR_TAG = "raises-exception"  # Jupyter's: this cell is meant to fail
PARAMETERS_TAG = "parameters"  # papermill injects parameters after this cell
INJECTED_PARAMETERS_TAG = "injected-parameters"  # papermill's parameters cell
PAPERMILL_MARKER_TAG = "papermill-error-cell-tag"  # papermill's "execution failed here" cell


def verdict_of(tags: dict[str, str]) -> str | None:
    """A run's verdict: its own (a rerun's), else its last rerun's."""
    return tags.get(VERDICT_TAG) or tags.get(LAST_VERDICT_TAG) or None


def outcome_of(tags: Mapping[str, str], mode: str) -> dict[str, str | None] | None:
    """The latest rerun of ``mode`` that this run (an original) knows of: its verdict,
    run id and the versions it read; None when there was none (or before nbrepro kept
    one per mode)."""
    verdict = tags.get(LAST_VERDICT_OF_MODE_TAG.format(mode=mode))
    if not verdict:
        return None
    return {
        "verdict": verdict,
        "rerun_id": tags.get(LAST_RERUN_OF_MODE_TAG.format(mode=mode)) or None,
        "data": tags.get(LAST_DATA_OF_MODE_TAG.format(mode=mode)) or None,
    }


def is_nbrepro_run(tags: dict[str, str]) -> bool:
    """Whether nbrepro captured this run (any version)."""
    return SCHEMA_VERSION_TAG in tags or CAPTURE_ID_TAG in tags
