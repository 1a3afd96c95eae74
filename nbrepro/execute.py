"""Executing a notebook with papermill, with nbrepro's reading of errors.

papermill raises after a run whenever any cell has an error output, even one
tagged ``raises-exception`` that nbclient was told to run past, and it inserts
its own marker cells. A replay tags the cells that raised in the original
session that way, so here an error is a failure only in an untagged cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from nbrepro.errors import NotebookExecutionError

EXPECTED_ERROR_TAG = "raises-exception"
# papermill.execute.ERROR_MARKER_TAG, named here to avoid importing papermill early.
PAPERMILL_MARKER_TAG = "papermill-error-cell-tag"


def first_unexpected_error(nb: nbformat.NotebookNode) -> NotebookExecutionError | None:
    """The first error output in a cell not tagged ``raises-exception``."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if EXPECTED_ERROR_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") == "SystemExit" and out.get("evalue") in ("", "0"):
                continue
            return NotebookExecutionError(
                index, cell.get("execution_count"), cell.source, out["ename"], out["evalue"]
            )
    return None


def strip_papermill_markers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.cells = [
        c for c in nb.cells if PAPERMILL_MARKER_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    return nb


def run_papermill(
    source: str | Path,
    output: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | Path | None = None,
    kernel_name: str | None = None,
    progress: bool = False,
    timeout: int | None = None,
) -> NotebookExecutionError | None:
    """Execute ``source`` into ``output``; returns the failing cell's error, or None.

    Other failures (kernel death, timeout, missing kernel) propagate as papermill
    raises them.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=dict(parameters or {}),
            cwd=None if cwd is None else str(cwd),
            kernel_name=kernel_name,
            progress_bar=progress,
            execution_timeout=timeout,
            # The kernel's own log (transport warnings, its dying words after a timeout)
            # is not the user's business; cell errors are in the notebook either way.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except PapermillExecutionError:
        nb = strip_papermill_markers(nbformat.read(str(output), as_version=4))
        nbformat.write(nb, str(output))
        return first_unexpected_error(nb)
    return None
