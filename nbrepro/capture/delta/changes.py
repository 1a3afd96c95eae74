"""What the Delta log says happened to a table between two versions.

"moved: v0 -> v3" names versions; a reader wants to know what moved: the commits in
between (operation, time) and the rows and files they added or removed, from each
commit's ``operationMetrics`` (``commitInfo``, what ``DeltaTable.history()`` returns).

The commit files are read one by one (``_delta_log/<version>.json``) through
deltalake's storage handler, with the table's recorded storage options: at most
:data:`MAX_COMMITS`, the nearest to the newer version, whatever the table's version is
now. (``history(n)`` reads the ``n`` newest commits of the table as it is now, however
far it has moved since, and labels a time-travelled table's history with wrong
versions.) A metric a commit does not report is ``None`` ("unknown"), never guessed.
Nothing here raises: a log that cannot be read becomes the summary's ``note``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

MAX_COMMITS = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TOTALS = ("rows_added", "rows_removed", "rows_updated", "files_added", "files_removed")

# operationMetrics names, delta-rs (snake_case) and Delta on Spark (camelCase). A name is
# looked up only for the operations where it means what the total means: a MERGE's
# numOutputRows counts the rows it copied too.
_WRITES = frozenset(
    {"WRITE", "CREATE TABLE AS SELECT", "REPLACE TABLE AS SELECT", "CREATE OR REPLACE TABLE AS SELECT",
     "STREAMING UPDATE", "COPY INTO"}
)  # fmt: skip
_METRICS: dict[str, tuple[tuple[str, frozenset[str] | None], ...]] = {
    "rows_added": (
        ("num_added_rows", None),
        ("numOutputRows", _WRITES),
        ("num_target_rows_inserted", None),
        ("numTargetRowsInserted", None),
    ),
    "rows_removed": (
        ("num_deleted_rows", None),
        ("numDeletedRows", None),
        ("num_target_rows_deleted", None),
        ("numTargetRowsDeleted", None),
    ),
    "rows_updated": (
        ("num_updated_rows", None),
        ("numUpdatedRows", None),
        ("num_target_rows_updated", None),
        ("numTargetRowsUpdated", None),
    ),
    "files_added": (
        ("num_added_files", None),
        ("numAddedFiles", None),
        ("num_target_files_added", None),
        ("numTargetFilesAdded", None),
        ("numFilesAdded", None),
        ("numFiles", _WRITES),
    ),
    "files_removed": (
        ("num_removed_files", None),
        ("numRemovedFiles", None),
        ("num_target_files_removed", None),
        ("numTargetFilesRemoved", None),
        ("numFilesRemoved", None),
    ),
}
# Operations that change no data: nothing added or removed, whatever their metrics say
# (a vacuum deletes files no version of the table still reads).
_NO_DATA_CHANGE = frozenset(
    {"VACUUM START", "VACUUM END", "SET TBLPROPERTIES", "UNSET TBLPROPERTIES", "ADD CONSTRAINT",
     "DROP CONSTRAINT", "ADD COLUMNS", "CHANGE COLUMN", "RENAME COLUMN", "UPGRADE PROTOCOL",
     "ADD FEATURE", "DROP FEATURE", "UPDATE FIELD METADATA", "SET TABLE COMMENT"}
)  # fmt: skip
# Operations that rewrite files without changing rows.
_SAME_ROWS = frozenset({"OPTIMIZE", "ZORDER", "REORG", "CLUSTER BY"})


class Commit(TypedDict):
    """One commit between the two versions (``DeltaCommit`` of the API)."""

    version: int
    operation: str
    mode: str | None  # a WRITE's mode: Append, Overwrite, ...
    timestamp: str | None  # ISO-8601, UTC
    rows_added: int | None
    rows_removed: int | None
    rows_updated: int | None
    files_added: int | None
    files_removed: int | None


def log_between(
    uri: str,
    table_id: str | None,
    from_version: int,
    to_version: int,
    storage: Mapping[str, str] | None = None,
    max_commits: int = MAX_COMMITS,
) -> dict[str, Any]:
    """The commits after ``from_version`` up to ``to_version`` (oldest first) and their
    totals (``DeltaLogChanges`` of the API); never raises.

    The versions may come in either order: the commits are those between the lower
    and the higher, and ``backwards`` says the second run read the older version.
    ``table_id``: the table both runs read; another table at the uri now (re-created)
    has another log, which is then not read.
    """
    lo, hi = sorted((int(from_version), int(to_version)))
    wanted = list(range(hi, max(lo, hi - max_commits), -1))
    out: dict[str, Any] = {
        "from_version": lo,
        "to_version": hi,
        "backwards": from_version > to_version,
        "commits_between": hi - lo,
        "left_out": hi - lo - len(wanted),
        "commits": [],
        **dict.fromkeys(TOTALS),
        "note": "",
    }
    try:
        commits, missing = _read_commits(uri, table_id, wanted, storage)
    except Exception as exc:  # no deltalake, no access, a re-created table: said, not raised
        out["note"] = f"the Delta log could not be read: {_short(exc)}"
        return out
    out["commits"] = commits
    if missing:
        out["note"] = (
            f"the Delta log no longer has {len(missing)} of these commits "
            f"({_versions(missing)}): cleaned up"
        )
    # Totals over every commit between the versions: unknown when one is unknown,
    # one is missing, or some were left out.
    complete = not missing and out["left_out"] == 0
    for key in TOTALS:
        values = [c[key] for c in commits]  # type: ignore[literal-required]
        known = complete and all(v is not None for v in values)
        out[key] = sum(v for v in values if v is not None) if known else None
    if out["left_out"]:
        out["note"] = (out["note"] + "; " if out["note"] else "") + (
            f"only the {len(wanted)} commits nearest v{hi} were read, "
            f"{out['left_out']} older ones were left out"
        )
    return out


def _read_commits(
    uri: str, table_id: str | None, versions: list[int], storage: Mapping[str, str] | None
) -> tuple[list[Commit], list[int]]:
    from deltalake.fs import DeltaStorageHandler

    from nbrepro.capture.delta.tables import open_table

    if table_id:
        now = str(open_table(uri, storage).metadata().id)
        if now != table_id:
            raise RuntimeError("the table was re-created since; the log of the one read is gone")
    store = DeltaStorageHandler(_root(uri), dict(storage) if storage else None)
    commits: list[Commit] = []
    missing: list[int] = []
    for version in versions:
        try:
            raw = store.open_input_file(f"_delta_log/{version:020d}.json").read()
        except FileNotFoundError:
            missing.append(version)
            continue
        commits.append(commit_of(version, _commit_info(raw)))
    return sorted(commits, key=lambda c: c["version"]), sorted(missing)


def _root(uri: str) -> str:
    return uri.removeprefix("file://") if uri.startswith("file:///") else uri


def _commit_info(raw: bytes) -> dict[str, Any]:
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if '"commitInfo"' in line:
            info = json.loads(line).get("commitInfo")
            if isinstance(info, dict):
                return info
    return {}


def commit_of(version: int, info: Mapping[str, Any]) -> Commit:
    """A commit's summary from its ``commitInfo`` (a ``history()`` entry)."""
    operation = str(info.get("operation") or "unknown")
    params = info.get("operationParameters") or {}
    mode = params.get("mode") if isinstance(params, Mapping) else None
    metrics = info.get("operationMetrics") or {}
    if not isinstance(metrics, Mapping):
        metrics = {}
    commit: dict[str, Any] = {
        "version": version,
        "operation": operation,
        "mode": str(mode) if mode else None,
        "timestamp": _iso(info.get("inCommitTimestamp") or info.get("timestamp")),
    }
    for key, names in _METRICS.items():
        commit[key] = _metric(metrics, names, operation)
    _fill_known(commit, operation, commit["mode"])
    return commit  # type: ignore[return-value]


def _metric(
    metrics: Mapping[str, Any], names: tuple[tuple[str, frozenset[str] | None], ...], op: str
) -> int | None:
    for name, only_for in names:
        if name in metrics and (only_for is None or op in only_for):
            try:
                return int(str(metrics[name]))  # Spark writes them as strings
            except ValueError:
                return None
    return None


def _fill_known(commit: dict[str, Any], operation: str, mode: str | None) -> None:
    """Zeros the operation itself implies, where its metrics say nothing."""
    zero: tuple[str, ...] = ()
    if operation in _NO_DATA_CHANGE:
        zero = TOTALS
        for key in TOTALS:  # whatever a vacuum counted, the table's data did not change
            commit[key] = 0
    elif operation in _SAME_ROWS:
        zero = ("rows_added", "rows_removed", "rows_updated")
    elif operation == "DELETE":
        zero = ("rows_added", "rows_updated")
    elif operation == "UPDATE":
        zero = ("rows_added", "rows_removed")
    elif operation in _WRITES and (mode or "").lower() in ("append", "errorifexists", ""):
        zero = ("rows_removed", "rows_updated", "files_removed")
    elif operation in _WRITES:
        zero = ("rows_updated",)
        if commit["files_removed"] == 0:  # an overwrite of an empty table
            commit["rows_removed"] = 0
    for key in zero:
        if commit[key] is None:
            commit[key] = 0


def _iso(ms: Any) -> str | None:
    try:
        return (_EPOCH + timedelta(milliseconds=int(ms))).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def _versions(versions: list[int]) -> str:
    if len(versions) > 1 and versions[-1] - versions[0] == len(versions) - 1:
        return f"v{versions[0]}-v{versions[-1]}"
    return ", ".join(f"v{v}" for v in versions[:5]) + (", ..." if len(versions) > 5 else "")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def operation_label(commit: Mapping[str, Any]) -> str:
    """``WRITE append``, ``DELETE``: an operation with a WRITE's mode."""
    mode = commit.get("mode")
    if commit.get("operation") in _WRITES and mode:
        return f"{commit['operation']} {str(mode).lower()}"
    return str(commit.get("operation"))


def changes_phrase(changes: Mapping[str, Any]) -> str:
    """``v0 -> v1: 1 commit (WRITE append), +58 rows, +1 file`` (the CLI's words; the
    sidebar says the same in labextension/components/deltaLog.ts)."""
    head = f"v{changes['from_version']} -> v{changes['to_version']}"
    if changes.get("backwards"):
        head += " (the second run read the older version)"
    n = int(changes["commits_between"])
    ops: dict[str, int] = {}
    for commit in changes["commits"]:
        label = operation_label(commit)
        ops[label] = ops.get(label, 0) + 1
    kinds = ", ".join(f"{c}x {op}" if c > 1 else op for op, c in ops.items())
    parts = [f"{n} commit{'' if n == 1 else 's'}" + (f" ({kinds})" if kinds else "")]
    if changes["commits"] or not changes.get("note"):
        parts.append(_amounts(changes, "rows", "row"))
        parts.append(_amounts(changes, "files", "file"))
        updated = changes.get("rows_updated")
        if updated:
            parts.append(f"{updated} row{'' if updated == 1 else 's'} updated")
    text = f"{head}: " + ", ".join(parts)
    return text + (f" ({changes['note']})" if changes.get("note") else "")


def _amounts(changes: Mapping[str, Any], what: str, one: str) -> str:
    """``+58 rows``, ``+7 -10 rows``, ``rows unchanged``, ``+7 rows, rows removed unknown``."""
    added, removed = changes.get(f"{what}_added"), changes.get(f"{what}_removed")
    if added is None and removed is None:
        return f"{what} added and removed unknown"
    if added == 0 and removed == 0:
        return f"{what} unchanged"
    numbers = [f"{sign}{n}" for sign, n in (("+", added), ("-", removed)) if n]
    single = [n for n in (added, removed) if n]
    said = []
    if numbers:
        noun = one if len(single) == 1 and single[0] == 1 else what
        said.append(" ".join([*numbers, noun]))
    said.extend(
        f"{what} {side} unknown"
        for side, n in (("added", added), ("removed", removed))
        if n is None
    )
    return ", ".join(said)
