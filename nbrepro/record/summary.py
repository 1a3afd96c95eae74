"""The words a run's summary uses, shared by the ``%%repro`` display, ``nbrepro show``
and the capture card, so the three never describe the same run differently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
    """How much code the run executed: ``"3 executed cell(s)"``."""
    return f"{len(code['cells'])} executed cell(s)"


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
