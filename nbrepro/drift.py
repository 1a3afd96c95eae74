"""Data drift: has a table a run read moved since? ("v0 read, table now at v3")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
            from deltalake import DeltaTable

            table = DeltaTable(str(read["uri"]))
            current = int(table.version())
            current_id = str(table.metadata().id)
        except ImportError:
            row["detail"] = "deltalake is not installed"
        except Exception as exc:  # TableNotFoundError, storage errors: shown to the user
            row["detail"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            row["current_version"] = current
            if read.get("table_id") and current_id != read.get("table_id"):
                row["state"] = "recreated"
                row["detail"] = "the table was re-created (new table id)"
            elif current > int(read["version"]):
                row["state"] = "moved"
                row["detail"] = f"v{read['version']} read, table now at v{current}"
            else:
                row["state"] = "current"
        out.append(row)
    return out
