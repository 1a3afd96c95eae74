"""The words a run's summary uses, shared by the ``%%repro`` display, ``nbrepro show``
and the capture card, so the three never describe the same run differently."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from nbrepro.record.vocabulary import (
    FILES_MISSING,
    PINNED_DATA_UNAVAILABLE,
    TABLE_MISSING,
    TABLE_REPLACED,
    VERSION_UNAVAILABLE,
)


def python_label(env: Mapping[str, Any]) -> str:
    """The Python of a recorded environment: ``"CPython 3.11.7"``."""
    py = env.get("python") or {}
    return f"{py.get('implementation', '?')} {py.get('version', '?')}"


def how_read(read: Mapping[str, Any]) -> str:
    """How a Delta read chose its version: the code named it, or it took the latest."""
    if read.get("pinned_by_user"):
        return "version named by the code"
    if read.get("pinned_by_nbrepro"):
        return "pinned by nbrepro"
    return "latest at read"


def read_source(read: Mapping[str, Any]) -> str:
    """What read a table, and under which catalog name: ``"via spark, table wine"``."""
    words = f"via {read.get('via') or 'deltalake'}"
    if read.get("table_name"):
        words += f", table {read['table_name']}"
    return words


def cells_phrase(code: Mapping[str, Any]) -> str:
    """How much code the run executed: ``"3 executed cells"``, ``"1 executed cell"``."""
    n = len(code["cells"])
    return f"{n} executed cell{'' if n == 1 else 's'}"


def no_tables_phrase() -> str:
    return "no Delta tables read"


def pending_phrase(offline: bool) -> str:
    """What a capture waiting in the spool is: the summary and the card say it alike.

    ``offline``: the store was unreachable when the capture started, so the run exists
    only in the spool and has no id in the store yet; else the run exists in the store
    but nbrepro's part of it is still in the spool.
    """
    if offline:
        return (
            "the tracking store was unreachable, so this run is not uploaded and has no id "
            "there yet. `nbrepro sync` uploads it and prints its run id."
        )
    return (
        "upload incomplete: the tracking store failed while the capture was logged. "
        "`nbrepro sync` completes this run."
    )


def table_name(uri: str) -> str:
    """The last part of a table URI (``s3://lake/wine/`` -> ``wine``)."""
    return uri.rstrip("/").rsplit("/", 1)[-1] or uri


def versions_label(versions: Mapping[str, list[int]], most: int = 2) -> str:
    """The versions a run read, short: "v0" for one table, "events v1, users v3" for
    several (``most`` named, then "+N"); "" when it read none."""
    if not versions:
        return ""
    if len(versions) == 1:
        (read,) = versions.values()
        return "v" + ",".join(str(v) for v in sorted(set(read)))
    named = [
        f"{table_name(uri)} v" + ",".join(str(v) for v in sorted(set(vs)))
        for uri, vs in sorted(versions.items())
    ]
    extra = len(named) - most
    return ", ".join(named[:most]) + (f" +{extra}" if extra > 0 else "")


def store_label(uri: str, home: str | None = None) -> str:
    """A tracking URI as a card shows it: a local store by its path, the home folder as
    "~" ("~/.local/share/nbrepro/mlflow.db"); any other URI as it is (credentials are
    the caller's to remove)."""
    path = None
    for scheme in ("sqlite:///", "file://"):
        if uri.startswith(scheme):
            path = uri[len(scheme) :]
            break
    if path is None and uri.startswith("/"):
        path = uri
    if path is None or not path.startswith("/"):
        return uri
    home = (home if home is not None else os.path.expanduser("~")).rstrip("/")
    if home and path.startswith(home + "/"):
        return "~" + path[len(home) :]
    return path


# Why a version cannot be pinned, in a few words (the sidebar's deltaLog.ts says the same).
WHY_UNPINNABLE = {
    FILES_MISSING: "vacuumed (its data files were deleted)",
    VERSION_UNAVAILABLE: "its log entries were cleaned up",
    TABLE_REPLACED: "the table was re-created",
    TABLE_MISSING: "the table is gone",
}


def data_problem(reason: Mapping[str, Any]) -> tuple[str, bool]:
    """What a card says of a rerun that could not read its data (a job's
    ``error_reason``), and whether the same rerun on the latest data can run: in a
    notebook's words, never the command line's (its flags)."""
    said = []
    for table in reason.get("tables") or []:
        uri = str(table.get("uri") or "")
        name = table_name(uri) or uri
        kind = str(table.get("kind") or "")
        why = WHY_UNPINNABLE.get(kind, "it cannot be read as it was")
        said.append(
            f"{name} is gone: there is no Delta table at {uri} any more"
            if kind == TABLE_MISSING
            else f"{name} v{table.get('version')} can no longer be read: {why}"
        )
    tables = "; ".join(said) + "." if said else ""
    if reason.get("code") == PINNED_DATA_UNAVAILABLE:
        return (
            f"The data this run read at its pinned versions is no longer there: {tables} "
            "Re-execute on the tables' latest data instead; the report then shows what moved.",
            True,
        )
    return (
        f"A table this run read is gone, so no re-execution can read it: {tables} "
        "Restore the table at its location to re-execute this run.",
        False,
    )
