"""nbrepro's own queries of Delta tables: pins, commit times, current versions.

Every table nbrepro opens for itself goes through :func:`open_table`. Those opens are
never the notebook's reads: the watcher ignores any ``DeltaTable`` built by nbrepro's
own modules, so they are neither recorded nor pinned.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

from nbrepro.capture.delta.storage import access_hint, is_access_error
from nbrepro.capture.delta.uri import is_object_store, normalize_uri
from nbrepro.errors import NbreproError
from nbrepro.record.vocabulary import (
    FILES_MISSING,
    NOT_CHECKED,
    TABLE_MISSING,
    TABLE_REPLACED,
    UNPINNABLE,
    UNREACHABLE,
    VERSION_UNAVAILABLE,
    PinProblemKind,
)

WAY_OUT = "Rerun with --data latest to read the table's current version instead."
# How long a table's current version is trusted when listing runs: paging through a
# list opens each table once, not once per page.
VERSION_CACHE_SECONDS = 5.0
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Pin(TypedDict):
    """The version a table is held at during re-execution (keyed by normalized uri)."""

    version: int
    table_id: str | None


class PinnedTableMismatch(NbreproError):
    """A pinned table was re-created: same uri, different table id, so versions differ."""

    def __init__(self, uri: str, recorded_id: str, current_id: str, version: int) -> None:
        super().__init__(
            f"Delta table {uri} was re-created since the run was recorded: the run read "
            f"version {version} of table id {recorded_id}, the table there now has id "
            f"{current_id}. Rerun with --data latest to read the current table instead."
        )
        self.uri, self.recorded_id, self.current_id = uri, recorded_id, current_id
        self.version = version


class PinProblem(TypedDict):
    """Why a pinned version cannot be reproduced; ``fatal`` False is informational only."""

    uri: str
    version: int
    kind: PinProblemKind  # fatal: those in vocabulary.UNPINNABLE

    fatal: bool
    message: str


def open_table(
    uri: str, storage: Mapping[str, str] | None = None, version: int | None = None
) -> Any:
    """A ``deltalake.DeltaTable`` for nbrepro itself; raises what deltalake raises."""
    import deltalake

    return deltalake.DeltaTable(
        uri, version=version, storage_options=dict(storage) if storage else None
    )


GONE = "the table is gone: there is no Delta table at this location any more"


def is_table_gone(exc: BaseException) -> bool:
    """Whether opening a table failed because there is no table there (deltalake's
    TableNotFoundError), not for a reason that may pass (credentials, the network)."""
    try:
        from deltalake.exceptions import TableNotFoundError
    except ImportError:
        return False
    return isinstance(exc, TableNotFoundError)


def table_now(uri: str, storage: Mapping[str, str] | None = None) -> tuple[int, str]:
    """A table's current ``(version, table id)``; raises what deltalake raises."""
    table = open_table(uri, storage)
    return int(table.version()), str(table.metadata().id)


def commit_timestamps(
    uri: str,
    table_id: str | None,
    versions: Iterable[int],
    storage: Mapping[str, str] | None = None,
) -> dict[int, str]:
    """When each of ``versions`` was committed (ISO-8601, UTC); a version the log no
    longer has is left out. Raises when the table cannot be opened or was re-created."""
    wanted = set(versions)
    dt = open_table(uri, storage)
    if table_id and str(dt.metadata().id) != table_id:
        raise RuntimeError("the table was re-created; the old history is gone")
    # history() of the latest snapshot, limited to the versions needed: a
    # time-travelled table labels its (latest) history with wrong versions.
    needed = dt.version() - min(wanted) + 1
    stamps: dict[int, str] = {}
    for entry in dt.history(max(needed, 1)):
        ms = entry.get("timestamp")
        if entry.get("version") in wanted and ms is not None:
            stamps[int(entry["version"])] = (_EPOCH + timedelta(milliseconds=ms)).isoformat()
    return stamps


def with_commit_timestamps(
    reads: Iterable[Mapping[str, Any]],
    notes: list[str],
    storage: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Copies of Delta read records with ``commit_timestamp`` filled in; never raises.

    What cannot be filled in is said in ``notes``.
    """
    out = [dict(r) for r in reads]
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for rec in out:
        if rec.get("commit_timestamp") is None and isinstance(rec.get("version"), int):
            groups.setdefault((str(rec.get("uri")), rec.get("table_id")), []).append(rec)
    for (uri, table_id), group in groups.items():
        try:
            stamps = commit_timestamps(
                uri, table_id, (r["version"] for r in group), (storage or {}).get(uri)
            )
        except Exception as exc:
            notes.append(f"no commit time for {uri}: {exc!r}")
            continue
        for rec in group:
            iso = stamps.get(rec["version"])
            if iso is None:
                notes.append(f"no commit time for {uri} version {rec['version']}")
            else:
                rec["commit_timestamp"] = iso
    return out


def check_pins(
    pins: Mapping[str, Pin], storage: Mapping[str, Mapping[str, str]] | None = None
) -> list[PinProblem]:
    """Check that every pinned version can still be read, before re-executing.

    Args:
        pins: ``{uri: {"version": int, "table_id": str | None}}``.

    Returns:
        One problem per pin that cannot be reproduced (and informational, non-fatal
        ``not_checked`` and ``unreachable`` ones). The messages do not say the way out
        (:data:`WAY_OUT`): the caller says it once.
    """
    problems: list[PinProblem] = []
    for raw, pin in pins.items():
        uri, version = normalize_uri(raw), int(pin["version"])
        found = pin_problem(uri, version, pin.get("table_id"), (storage or {}).get(uri))
        if found is not None:
            problems.append(
                PinProblem(
                    uri=uri,
                    version=version,
                    kind=found[0],
                    fatal=found[0] in UNPINNABLE,
                    message=f"Delta table {uri} version {version}: {found[1]}.",
                )
            )
    return problems


def pin_problem(
    uri: str, version: int, want: str | None, storage: Mapping[str, str] | None = None
) -> tuple[PinProblemKind, str] | None:
    """Why ``version`` of a table can no longer be read as it was (kind, in words), or
    None when it can; raises nothing. The cost: the version's log loaded, then a stat of
    each of its data files (local), or a few requests (object store: of the files the
    latest version no longer reads, at most :data:`REMOTE_FILES_CHECKED`)."""
    try:
        return _pin_problem(uri, version, want, storage)
    except Exception as exc:  # deltalake not installed, a store error mid-check
        return UNREACHABLE, f"the pin could not be checked ({type(exc).__name__}: {str(exc)[:200]})"


def _pin_problem(
    uri: str, version: int, want: str | None, storage: Mapping[str, str] | None
) -> tuple[PinProblemKind, str] | None:
    try:
        dt = open_table(uri, storage, version)
    except Exception as exc:
        try:
            now = open_table(uri, storage)
        except Exception as latest_exc:
            if is_table_gone(latest_exc):
                return TABLE_MISSING, f"the table cannot be opened ({exc})"
            # No access from here (credentials, the network) is no proof the data is gone:
            # the rerun's kernel opens it as the notebook does, and checks the pin itself.
            why = (
                access_hint(uri)
                if is_access_error(latest_exc)
                else f"{type(latest_exc).__name__}: {str(latest_exc)[:200]}"
            )
            return UNREACHABLE, f"the pin could not be checked before running ({why})"
        if want and str(now.metadata().id) != want:
            return TABLE_REPLACED, f"the table was re-created (id {want} is gone)"
        latest = now.version()
        if version > latest:
            return VERSION_UNAVAILABLE, f"the table only goes up to version {latest}"
        return VERSION_UNAVAILABLE, f"its log was cleaned up (latest is {latest})"
    current = str(dt.metadata().id)
    if want and current != want:
        return TABLE_REPLACED, f"the table was re-created (id {want}, now {current})"
    return _files_problem(uri, dt, storage)


# Of an object-store table's files a pinned version reads and its latest does not (the
# only ones a vacuum deletes), at most this many are asked for: one request each.
REMOTE_FILES_CHECKED = 3


def _files_problem(
    uri: str, dt: Any, storage: Mapping[str, str] | None
) -> tuple[PinProblemKind, str] | None:
    """Whether the data files of the version ``dt`` is at still exist: every one of a
    local table's (a stat each), a few of an object store's."""
    import pyarrow

    # Log paths are percent-encoded, relative to the table root (or absolute uris);
    # file_uris() mixes encoded and on-disk forms, so it cannot be checked directly.
    paths = pyarrow.table(dt.get_add_actions()).column("path").to_pylist()
    if is_object_store(uri):
        return _remote_files_problem(uri, paths, storage)
    missing = []
    for path in paths:
        local = urlsplit(path).path if is_object_store(path) else os.path.join(uri, path)
        if not os.path.exists(unquote(local)):
            missing.append(unquote(local))
    if not missing:
        return None
    example = os.path.basename(missing[0])
    why = f"{len(missing)} of {len(paths)} data files are missing (vacuumed?), e.g. {example}"
    return FILES_MISSING, why


def _remote_files_problem(
    uri: str, paths: list[str], storage: Mapping[str, str] | None
) -> tuple[PinProblemKind, str] | None:
    import pyarrow
    from deltalake.fs import DeltaStorageHandler
    from pyarrow.fs import FileType

    live = set(pyarrow.table(open_table(uri, storage).get_add_actions()).column("path").to_pylist())
    # Files the latest version still reads are never vacuumed; of the others, a few
    # spread over the list (a vacuum deletes every file older than its retention).
    gone_candidates = [unquote(p) for p in paths if p not in live and "://" not in p]
    if not gone_candidates:
        return None
    step = max(1, len(gone_candidates) // REMOTE_FILES_CHECKED)
    sample = gone_candidates[::step][:REMOTE_FILES_CHECKED]
    store = DeltaStorageHandler(uri, dict(storage) if storage else None)
    try:
        infos = store.get_file_info(sample)
    except Exception as exc:  # no access from here is no proof the files are gone
        why = access_hint(uri) if is_access_error(exc) else f"{type(exc).__name__}"
        return NOT_CHECKED, f"its data files could not be checked ({why})"
    missing = [i.path for i in infos if i.type == FileType.NotFound]
    if not missing:
        return None
    example = os.path.basename(missing[0])
    why = (
        f"{len(missing)} of the {len(sample)} data files checked are missing (vacuumed?), "
        f"e.g. {example}"
    )
    return FILES_MISSING, why


_cache_lock = threading.Lock()
_current: dict[
    tuple[str, tuple[tuple[str, str], ...]], tuple[float, tuple[int, str] | None, int | None]
] = {}


def current_table(
    uri: str, max_age: float | None = None, storage: Mapping[str, str] | None = None
) -> tuple[int, str] | None:
    """A table's current ``(version, table id)``, or None when it cannot be opened now.

    Answers younger than ``max_age`` seconds (default :data:`VERSION_CACHE_SECONDS`)
    are reused. ``storage``: the recorded options of an object-store table.
    """
    max_age = VERSION_CACHE_SECONDS if max_age is None else max_age
    now = time.monotonic()
    stamp = _log_stamp(uri)
    key = (uri, tuple(sorted((storage or {}).items())))
    with _cache_lock:
        hit = _current.get(key)
    if hit is not None and now - hit[0] < max_age and hit[2] == stamp:
        return hit[1]
    answer: tuple[int, str] | None
    try:
        answer = table_now(uri, storage)
    except Exception:  # not installed, not found, no access: unknown, the list says so
        answer = None
    with _cache_lock:
        _current[key] = (now, answer, stamp)
    return answer


def _log_stamp(uri: str) -> int | None:
    """For a local table, when its ``_delta_log`` folder last changed (a commit adds a file).

    A local table's answer is then never stale, whatever its age; remote tables
    rely on the age limit alone.
    """
    if "://" in uri and not uri.startswith("file://"):
        return None
    folder = Path(uri.removeprefix("file://")) / "_delta_log"
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return None
