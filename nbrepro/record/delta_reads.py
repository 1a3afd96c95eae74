"""The ``nbrepro.delta_reads`` run tag: the tables a run read, readable without its record.

A list of runs says which tables moved since each run without downloading any record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

# MLflow refuses tag values over 8000 characters; leave room for the marker.
MAX_TAG_CHARS = 7900


class Entry(NamedTuple):
    """One table version a run read."""

    uri: str
    version: int
    table_id: str | None
    storage_options: dict[str, str] | None = None  # an object store's endpoint, region...


def encode(reads: Iterable[Mapping[str, Any]]) -> str:
    """The ``nbrepro.delta_reads`` tag: a JSON list of ``[uri, version, table_id]``, with a
    fourth item, the recorded storage options (never credentials), for object-store tables.

    Each distinct read appears once. When the list would not fit in an MLflow tag,
    the last entries are dropped and a final ``{"dropped": N}`` says how many.
    """
    parts: list[str] = []
    for read in reads:
        entry = [str(read["uri"]), read.get("version"), read.get("table_id")]
        if read.get("storage_options"):
            entry.append(dict(read["storage_options"]))
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


def decode(value: str | None) -> tuple[list[Entry], int] | None:
    """Entries and dropped count of an ``nbrepro.delta_reads`` tag; None if unreadable."""
    if not value:
        return None
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return None
    if not isinstance(items, list):
        return None
    entries: list[Entry] = []
    dropped = 0
    for item in items:
        if isinstance(item, dict):
            count = item.get("dropped") or 0
            if not isinstance(count, int):
                return None  # hand-edited: unknown rather than a failing list
            dropped = count
        elif isinstance(item, list) and len(item) in (3, 4) and isinstance(item[1], int):
            options = item[3] if len(item) == 4 else None
            if options is not None and not isinstance(options, dict):
                return None
            entries.append(
                Entry(
                    str(item[0]),
                    item[1],
                    None if item[2] is None else str(item[2]),
                    {str(k): str(v) for k, v in options.items()} if options else None,
                )
            )
        else:
            return None
    return entries, dropped
