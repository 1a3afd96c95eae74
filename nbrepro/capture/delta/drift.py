"""Data drift: has a Delta table a run read moved since ("v0 read, table now at v3")?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbrepro.capture.delta.storage import access_hint, is_access_error, options_of
from nbrepro.capture.delta.tables import (
    GONE,
    current_table,
    is_table_gone,
    pin_problem,
    table_now,
)
from nbrepro.record import delta_reads
from nbrepro.record.vocabulary import UNPINNABLE


def table_drift(reads: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each Delta read of a record, the table's current state.

    ``state`` is ``current`` (still at the version read), ``moved`` (newer versions
    exist), ``recreated`` (another table id at that URI), or ``unavailable`` (the
    table cannot be opened now; ``detail`` says why). A moved table's ``pin`` says
    whether the version read can still be pinned (:func:`pin_check`).
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
            now = table_now(str(read["uri"]), options_of(read))
        except ImportError:
            row["detail"] = "deltalake is not installed"
        except Exception as exc:  # TableNotFoundError, storage errors: shown to the user
            row["detail"] = unopenable(str(read["uri"]), exc)
        else:
            row["current_version"] = now[0]
            row["state"] = _state(int(read["version"]), read.get("table_id"), now)
            if row["state"] == "recreated":
                row["detail"] = "the table was re-created (new table id)"
            elif row["state"] == "moved":
                row["detail"] = f"v{read['version']} read, table now at v{now[0]}"
                row["pin"] = pin_check(read)
        out.append(row)
    return out


def pin_check(read: Mapping[str, Any]) -> dict[str, Any]:
    """Whether a pinned rerun can still read the version a read record names
    (``PinCheck`` of the API): ``readable`` False with the reason (vacuumed, log cleaned
    up), True, or None when it could not be told from here."""
    found = pin_problem(
        str(read["uri"]), int(read["version"]), read.get("table_id"), options_of(read)
    )
    if found is None:
        return {"readable": True, "reason": None, "detail": ""}
    kind, detail = found
    return {"readable": False if kind in UNPINNABLE else None, "reason": kind, "detail": detail}


def unopenable(uri: str, exc: BaseException) -> str:
    """Why a table cannot be opened now, in words: gone, no access, or the error."""
    if is_table_gone(exc):
        return GONE
    if is_access_error(exc):
        return f"the table cannot be opened here for want of access: {access_hint(uri)}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _state(version_read: int, table_id: str | None, now: tuple[int, str]) -> str:
    """``recreated`` (another table id at the URI), ``moved`` (newer versions) or ``current``."""
    if table_id and now[1] != table_id:
        return "recreated"
    if now[0] > version_read:
        return "moved"
    return "current"


def reads_changed(value: str | None) -> dict[str, Any]:
    """For a runs list row: ``data_changed``, ``changed_tables`` and ``tables``.

    ``data_changed`` is True when a table read moved or was re-created, False when
    every table is still at the version read, and None when it cannot be told (no
    tag, a table that cannot be opened, entries dropped from the tag).
    """
    decoded = delta_reads.decode(value)
    if decoded is None:
        return {"data_changed": None, "changed_tables": [], "tables": None}
    entries, dropped = decoded
    uris = {entry.uri for entry in entries}
    changed: set[str] = set()
    unknown = dropped > 0
    for uri, version, table_id, options in entries:
        now = current_table(uri, storage=options)
        if now is None:
            unknown = True
        elif _state(version, table_id, now) != "current":
            changed.add(uri)
    return {
        "data_changed": True if changed else (None if unknown else False),
        "changed_tables": sorted(changed),
        "tables": len(uris) + dropped,
    }
