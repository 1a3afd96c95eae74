"""Executing a notebook with papermill, with nbrepro's reading of errors.

papermill raises after a run whenever any cell has an error output, even one
tagged ``raises-exception`` that nbclient was told to run past, and it inserts
its own marker cells. A replay tags the cells that raised in the original
session that way, so here an error is a failure only in an untagged cell.

With a progress file, execution goes through :class:`ProgressEngine`, a papermill
engine that appends a line per finished cell (see :mod:`nbrepro.progress`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from nbrepro.errors import NotebookExecutionError
from nbrepro.progress import ProgressWriter

EXPECTED_ERROR_TAG = "raises-exception"
# papermill.execute.ERROR_MARKER_TAG, named here to avoid importing papermill early.
PAPERMILL_MARKER_TAG = "papermill-error-cell-tag"
# The first cell `nbrepro run` inserts to load nbrepro in the kernel.
INJECTED_TAG = "nbrepro-injected"
PROGRESS_ENGINE = "nbrepro-progress"


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


def _counted(cell: Any) -> bool:
    """A cell the user's run consists of (nbrepro's own loader cell is not)."""
    return bool(
        cell.get("cell_type") == "code"
        and INJECTED_TAG not in cell.get("metadata", {}).get("tags", [])
    )


def report_cell_progress(nb_man: Any, writer: ProgressWriter) -> None:
    """Make papermill's execution manager report each finished cell to ``writer``.

    papermill calls ``nb_man.cell_complete`` after every cell, including one that
    raised; wrapping that one method reports progress without copying papermill's
    execution loop.
    """
    total = sum(1 for cell in nb_man.nb.cells if _counted(cell))
    done = 0
    writer.write("executing", cells_done=done, cells_total=total)
    original = nb_man.cell_complete

    def cell_complete(cell: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = original(cell, *args, **kwargs)
        if _counted(cell):
            done += 1
            writer.write("executing", cells_done=done, cells_total=total)
        return result

    nb_man.cell_complete = cell_complete


@lru_cache(maxsize=1)
def _register_progress_engine() -> str:
    """Register :class:`ProgressEngine` with papermill (once; papermill loads late)."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        """papermill's nbclient engine, reporting finished cells to a progress file."""

        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, progress_file: str | None = None, **kwargs: Any
        ) -> Any:
            report_cell_progress(nb_man, ProgressWriter(progress_file))
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(PROGRESS_ENGINE, ProgressEngine)
    return PROGRESS_ENGINE


def run_papermill(
    source: str | Path,
    output: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | Path | None = None,
    kernel_name: str | None = None,
    progress: bool = False,
    timeout: int | None = None,
    progress_file: str | Path | None = None,
) -> NotebookExecutionError | None:
    """Execute ``source`` into ``output``; returns the failing cell's error, or None.

    Other failures (kernel death, timeout, missing kernel) propagate as papermill
    raises them.

    Args:
        progress_file: append a progress line per finished cell to this file
            (see :mod:`nbrepro.progress`).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    engine: dict[str, Any] = {}
    if progress_file:
        engine = {"engine_name": _register_progress_engine(), "progress_file": str(progress_file)}
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
            **engine,
        )
    except PapermillExecutionError:
        nb = strip_papermill_markers(nbformat.read(str(output), as_version=4))
        nbformat.write(nb, str(output))
        return first_unexpected_error(nb)
    return None
