"""Cell-level diff of two notebooks' code, using nbdime's notebook diff.

Only code and markdown cells' type and source are compared: outputs, execution counts,
cell ids and metadata change on every run and say nothing about whether the code did.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import nbdime
import nbformat

_KEPT_CELL_TYPES = ("code", "markdown")


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _label(cell: Any, index: int, labels: Mapping[int, str] | None) -> str:
    """How a user finds a cell: a replayed cell by the execution it stands for (its
    ``metadata.nbrepro.position``, named by ``labels``), else by its place, from 1."""
    position = ((cell.get("metadata") or {}).get("nbrepro") or {}).get("position")
    if labels is not None and isinstance(position, int) and position in labels:
        return labels[position]
    return f"cell {index + 1}"


def _reduce(
    nb: nbformat.NotebookNode, labels: Mapping[int, str] | None = None
) -> tuple[nbformat.NotebookNode, list[int], list[str]]:
    """A copy of ``nb`` with only code/markdown type + source, each kept cell's index
    and its label."""
    cells: list[dict[str, Any]] = []
    positions: list[int] = []
    names: list[str] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") not in _KEPT_CELL_TYPES:
            continue
        names.append(_label(cell, index, labels))
        reduced: dict[str, Any] = {
            "cell_type": cell["cell_type"],
            "metadata": {},
            "source": _source(cell),
        }
        if cell["cell_type"] == "code":
            # nbdime's cell predicates read "outputs" of code cells; empty keeps them equal.
            reduced["outputs"] = []
            reduced["execution_count"] = None
        cells.append(reduced)
        positions.append(index)
    copy = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    return copy, positions, names


def _unified(source_a: str, source_b: str, label_a: str, label_b: str) -> str:
    return "\n".join(
        difflib.unified_diff(
            source_a.splitlines(),
            source_b.splitlines(),
            f"original {label_a}",
            f"rerun {label_b}",
            lineterm="",
        )
    )


def _summary(changes: list[dict[str, Any]]) -> str:
    counts = [
        (kind, sum(1 for change in changes if change["kind"] == kind))
        for kind in ("modified", "added", "removed")
    ]
    parts = [f"{count} {kind}" for kind, count in counts if count]
    if not parts:
        return "identical"
    # The noun only once, as a person would write it: "2 cells modified, 1 added".
    first_count, first_kind = parts[0].split(" ")
    noun = "cell" if first_count == "1" else "cells"
    return ", ".join([f"{first_count} {noun} {first_kind}", *parts[1:]])


def code_diff(
    a: nbformat.NotebookNode,
    b: nbformat.NotebookNode,
    labels_a: Mapping[int, str] | None = None,
    labels_b: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Diff the code (and markdown) of two notebooks cell by cell.

    Args:
        a: The original notebook (nbformat v4).
        b: The notebook to compare with it.
        labels_a: How a user finds each of a's executions, by its place in the run's
            executed sequence (a replay's cells carry it): ``In [3] (cell 4)``. Cells
            without one are named by their place in ``a``, from 1.
        labels_b: The same for ``b``.

    Returns:
        ``{"same", "changes", "summary"}``. Each change is ``{"kind", "index_a",
        "index_b", "label_a", "label_b", "source_a", "source_b", "diff"}`` with ``kind``
        one of ``"added"``, ``"removed"``, ``"modified"``; indices are positions in the
        given notebooks' ``cells`` lists (keys, not for a reader: None on the side where
        the cell does not exist), labels how a user finds the cell (None likewise);
        ``diff`` is a unified diff for modified cells and ``""`` otherwise. Changes are ordered by
        position. A cell rewritten beyond nbdime's similarity threshold is reported as
        one removed and one added cell, as nbdime aligns it. Raw cells are ignored.
        ``summary`` is ``"identical"`` or e.g. ``"2 cells modified, 1 added"``.
    """
    reduced_a, pos_a, names_a = _reduce(a, labels_a)
    reduced_b, pos_b, names_b = _reduce(b, labels_b)
    cells_a = reduced_a["cells"]
    cells_b = reduced_b["cells"]

    # nbdime aligns cells by brute force (every cell against every cell): hand it only
    # the differing middle, after the common prefix and suffix. Identical notebooks (a
    # faithful rerun) never reach it, and a 1,000-cell rerun costs what its edits cost.
    prefix = 0
    while prefix < min(len(cells_a), len(cells_b)) and cells_a[prefix] == cells_b[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(cells_a), len(cells_b)) - prefix
        and cells_a[len(cells_a) - 1 - suffix] == cells_b[len(cells_b) - 1 - suffix]
    ):
        suffix += 1
    cell_ops: list[Any] = []
    mid_a = cells_a[prefix : len(cells_a) - suffix]
    mid_b = cells_b[prefix : len(cells_b) - suffix]
    if mid_a or mid_b:
        middle_a = {**reduced_a, "cells": mid_a}
        middle_b = {**reduced_b, "cells": mid_b}
        for entry in nbdime.diff_notebooks(middle_a, middle_b):
            if entry["key"] == "cells" and entry["op"] == "patch":
                cell_ops = [{**op, "key": op["key"] + prefix} for op in entry["diff"]]

    changes: list[dict[str, Any]] = []
    # Ops are keyed by index in a and sorted (addrange before removerange/patch at the
    # same key); offset = cells added so far minus cells removed so far maps a to b.
    offset = 0
    for op in cell_ops:
        key = op["key"]
        if op["op"] == "addrange":
            for k in range(len(op["valuelist"])):
                jb = key + offset + k
                change = _change("added", None, pos_b[jb], None, _source(cells_b[jb]))
                changes.append({**change, "label_b": names_b[jb]})
            offset += len(op["valuelist"])
        elif op["op"] == "removerange":
            for ia in range(key, key + op["length"]):
                change = _change("removed", pos_a[ia], None, _source(cells_a[ia]), None)
                changes.append({**change, "label_a": names_a[ia]})
            offset -= op["length"]
        elif op["op"] == "patch":
            jb = key + offset
            change = _change(
                "modified", pos_a[key], pos_b[jb], _source(cells_a[key]), _source(cells_b[jb])
            )
            if change["source_a"] == change["source_b"]:
                # Only possible if nbdime reports a difference outside the source (e.g. a
                # cell type it aligned anyway); nothing about the code changed.
                continue
            change["label_a"], change["label_b"] = names_a[key], names_b[jb]
            change["diff"] = _unified(
                change["source_a"], change["source_b"], names_a[key], names_b[jb]
            )
            changes.append(change)
        else:
            raise ValueError(f"unexpected nbdime sequence op {op['op']!r} on cells")

    return {"same": not changes, "changes": changes, "summary": _summary(changes)}


def _change(
    kind: str, index_a: int | None, index_b: int | None, source_a: str | None, source_b: str | None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "index_a": index_a,
        "index_b": index_b,
        "label_a": None,
        "label_b": None,
        "source_a": source_a,
        "source_b": source_b,
        "diff": "",
    }
