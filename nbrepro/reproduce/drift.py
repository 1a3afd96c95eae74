"""Data drift: has a table a run read moved since? ("v0 read, table now at v3").

Also the compact ``nbrepro.delta_reads`` tag a capture writes, so a list of runs
can say which tables moved without downloading any record, and the environment
drift of a run against a live Python (a kernel's or the server's).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DELTA_READS_TAG = "nbrepro.delta_reads"
# MLflow refuses tag values over 8000 characters; leave room for the marker.
MAX_TAG_CHARS = 7900
# How long a table's current version is trusted when listing runs: paging through a
# list opens each table once, not once per page.
VERSION_CACHE_SECONDS = 5.0


def table_drift(reads: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each Delta read of a record, the table's current state.

    ``state`` is ``current`` (still at the version read), ``moved`` (newer versions
    exist), ``recreated`` (another table id at that URI), or ``unavailable`` (the
    table cannot be opened now; ``detail`` says why).
    """
    out = []
    for read in reads:
        row: dict[str, Any] = {
            "uri": read["uri"],
            "version_read": read["version"],
            "table_id": read.get("table_id"),
            "current_version": None,
            "state": "unavailable",
            "detail": "",
        }
        try:
            now = _open_table(str(read["uri"]))
        except ImportError:
            row["detail"] = "deltalake is not installed"
        except Exception as exc:  # TableNotFoundError, storage errors: shown to the user
            row["detail"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            row["current_version"] = now[0]
            row["state"] = _state(int(read["version"]), read.get("table_id"), now)
            if row["state"] == "recreated":
                row["detail"] = "the table was re-created (new table id)"
            elif row["state"] == "moved":
                row["detail"] = f"v{read['version']} read, table now at v{now[0]}"
        out.append(row)
    return out


def _open_table(uri: str) -> tuple[int, str]:
    """A table's current ``(version, table id)``; raises what deltalake raises."""
    from deltalake import DeltaTable

    table = DeltaTable(uri)
    return int(table.version()), str(table.metadata().id)


def _state(version_read: int, table_id: str | None, now: tuple[int, str]) -> str:
    """``recreated`` (another table id at the URI), ``moved`` (newer versions) or ``current``."""
    if table_id and now[1] != table_id:
        return "recreated"
    if now[0] > version_read:
        return "moved"
    return "current"


def encode_reads_tag(reads: Iterable[Mapping[str, Any]]) -> str:
    """The ``nbrepro.delta_reads`` tag: a JSON list of ``[uri, version, table_id]``.

    Each distinct read appears once. When the list would not fit in an MLflow tag,
    the last entries are dropped and a final ``{"dropped": N}`` says how many.
    """
    parts: list[str] = []
    for read in reads:
        entry = [str(read["uri"]), read.get("version"), read.get("table_id")]
        part = json.dumps(entry, separators=(",", ":"))
        if part not in parts:
            parts.append(part)
    kept: list[str] = []
    size = 2  # the brackets
    for part in parts:
        if size + len(part) + 1 > MAX_TAG_CHARS:
            break
        kept.append(part)
        size += len(part) + 1
    if len(kept) < len(parts):
        kept.append(json.dumps({"dropped": len(parts) - len(kept)}))
    return "[" + ",".join(kept) + "]"


def decode_reads_tag(value: str | None) -> tuple[list[tuple[str, int, str | None]], int] | None:
    """Entries and dropped count of an ``nbrepro.delta_reads`` tag; None if unreadable."""
    if not value:
        return None
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return None
    if not isinstance(items, list):
        return None
    entries: list[tuple[str, int, str | None]] = []
    dropped = 0
    for item in items:
        if isinstance(item, dict):
            count = item.get("dropped") or 0
            if not isinstance(count, int):
                return None  # hand-edited: unknown rather than a failing list
            dropped = count
        elif isinstance(item, list) and len(item) == 3 and isinstance(item[1], int):
            entries.append((str(item[0]), item[1], None if item[2] is None else str(item[2])))
        else:
            return None
    return entries, dropped


_cache_lock = threading.Lock()
_current: dict[str, tuple[float, tuple[int, str] | None, int | None]] = {}


def current_table(uri: str, max_age: float | None = None) -> tuple[int, str] | None:
    """A table's current ``(version, table id)``, or None when it cannot be opened now.

    Answers younger than ``max_age`` seconds (default :data:`VERSION_CACHE_SECONDS`)
    are reused.
    """
    max_age = VERSION_CACHE_SECONDS if max_age is None else max_age
    now = time.monotonic()
    stamp = _log_stamp(uri)
    with _cache_lock:
        hit = _current.get(uri)
    if hit is not None and now - hit[0] < max_age and hit[2] == stamp:
        return hit[1]
    answer: tuple[int, str] | None
    try:
        answer = _open_table(uri)
    except Exception:  # not installed, not found, no access: unknown, the list says so
        answer = None
    with _cache_lock:
        _current[uri] = (now, answer, stamp)
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


def reads_changed(value: str | None) -> dict[str, Any]:
    """For a runs list row: ``data_changed``, ``changed_tables`` and ``tables``.

    ``data_changed`` is True when a table read moved or was re-created, False when
    every table is still at the version read, and None when it cannot be told (no
    tag, a table that cannot be opened, entries dropped from the tag).
    """
    decoded = decode_reads_tag(value)
    if decoded is None:
        return {"data_changed": None, "changed_tables": [], "tables": None}
    entries, dropped = decoded
    uris = {uri for uri, _, _ in entries}
    changed: set[str] = set()
    unknown = dropped > 0
    for uri, version, table_id in entries:
        now = current_table(uri)
        if now is None:
            unknown = True
        elif _state(version, table_id, now) != "current":
            changed.add(uri)
    return {
        "data_changed": True if changed else (None if unknown else False),
        "changed_tables": sorted(changed),
        "tables": len(uris) + dropped,
    }


def environment_drift(
    recorded: Mapping[str, Any], now: Mapping[str, Any], *, against: str, kernel: str | None
) -> dict[str, Any]:
    """A run's recorded environment against a live one (``EnvironmentDrift`` of the API).

    Args:
        recorded: the record's ``environment`` section.
        now: a :func:`nbrepro.capture.environment.capture_environment` result.
        against: ``"kernel"`` or ``"server"``, whose environment ``now`` is.
        kernel: the kernel's name when ``against`` is ``"kernel"``.
    """
    from nbrepro.reproduce.compare.report import compare_environment

    compared = compare_environment({"environment": recorded}, {"environment": now})
    packages = compared["packages"]

    def python(env: Mapping[str, Any]) -> str:
        py = env.get("python") or {}
        return f"{py.get('implementation', '?')} {py.get('version', '?')}"

    return {
        "against": against,
        "kernel": kernel,
        "same": compared["same"],
        "python": [python(recorded), python(now)],
        "packages": {key: packages[key] for key in ("added", "removed", "changed", "same")},
        "system": compared["system"],
    }
