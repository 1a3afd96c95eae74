"""The images of cells whose outputs differ, for a report to show side by side.

A report says which cells' images differ (``images_differ``) and keeps no image: the
bytes are read again, when a reader asks, from what each run recorded. So a report
saved by any nbrepro (``nbrepro rerun``'s ``report.json``, a job's answer, a Compare of
two runs) shows its images, and report.json stays small. The cells are aligned as
the report aligned them (:func:`nbrepro.reproduce.compare.report.recorded_outputs`).

An answer is bounded: at most :data:`MAX_CELLS` cells, and image data up to
``max_bytes`` in all; an image past the cap is listed without its data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from nbrepro.reproduce.compare.outputs import IMAGE_MIMES
from nbrepro.reproduce.compare.report import recorded_outputs
from nbrepro.store.runs import CapturedRun, label_of

MAX_CELLS = 5
MAX_BYTES = 8 * 1024 * 1024
# When an output has several, the one a reader compares best (pixels before vectors).
_PREFERRED = ("image/png", "image/jpeg", "image/svg+xml")
assert set(_PREFERRED) == set(IMAGE_MIMES)


def _data(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def images_of(outputs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """A cell's images in order, one per output: ``(mime, data)``, the data base64
    (whitespace removed) for PNG and JPEG, the SVG's text for SVG."""
    found = []
    for out in outputs:
        data = out.get("data") or {}
        mime = next((m for m in _PREFERRED if m in data), None)
        if mime is None:
            continue
        value = _data(data[mime])
        found.append((mime, value if mime == "image/svg+xml" else re.sub(r"\s", "", value)))
    return found


def cell_images(
    original: CapturedRun,
    rerun: CapturedRun,
    cells: Sequence[int],
    *,
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """The images each run recorded in ``cells`` (keys of a report comparing them).

    Args:
        original: The report's original.
        rerun: The run compared with it.
        cells: Cell keys (``OutputCellDiff.cell``), at most :data:`MAX_CELLS`.
        max_bytes: Image data kept in all (characters of base64 or SVG text): a cell
            whose images do not fit has them listed with ``data`` None.

    Returns:
        ``{"original", "rerun", "max_bytes", "left_out", "cells"}``: each cell is
        ``{"cell", "label", "original", "rerun"}``, each side a list of
        ``{"mime", "bytes", "data"}`` in output order (``data`` None past the cap);
        ``left_out`` counts the images whose data was left out.

    Raises:
        ValueError: more than :data:`MAX_CELLS` cells.
    """
    if len(cells) > MAX_CELLS:
        raise ValueError(f"at most {MAX_CELLS} cells at a time, not {len(cells)}")
    oa, ob, _capped = recorded_outputs(original, rerun)
    labels = original.cell_labels()
    budget, left_out = max_bytes, 0
    shown = []
    for key in cells:
        found = {
            side: images_of(rec.get(key, [])) for side, rec in (("original", oa), ("rerun", ob))
        }
        size = sum(len(data) for images in found.values() for _mime, data in images)
        # A cell's images go whole or not at all: one side alone compares nothing.
        keep = size <= budget
        budget -= size if keep else 0
        left_out += 0 if keep else sum(len(images) for images in found.values())
        sides = {
            side: [
                {"mime": mime, "bytes": len(data), "data": data if keep else None}
                for mime, data in images
            ]
            for side, images in found.items()
        }
        shown.append({"cell": key, "label": label_of(labels, key), **sides})
    return {
        "original": original.run_id,
        "rerun": rerun.run_id,
        "max_bytes": max_bytes,
        "left_out": left_out,
        "cells": shown,
    }
