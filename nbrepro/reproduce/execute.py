"""Executing a notebook with papermill, with nbrepro's reading of errors.

papermill raises after a run whenever any cell has an error output, even one
tagged ``raises-exception`` that nbclient was told to run past, and it inserts
its own marker cells. A replay tags the cells that raised in the original
session that way, so here an error is a failure only in an untagged cell.

A cell can fail without an error output (a line magic that does not exist prints
a ``UsageError`` on stderr, and the kernel's reply says "error"): papermill marks
such a cell ``metadata.papermill.exception``, and so it is a failure here too.

nbrepro loads itself in the kernel through the kernel's command line
(``--InteractiveShellApp.extra_extensions``), not through a cell: execution counts
and cell numbers are the ones papermill and the user see.

With a progress file, execution goes through :class:`ProgressEngine`, a papermill
engine that appends a line per finished cell (see :mod:`nbrepro.progress`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from nbrepro.capture.history import (
    cell_error,
    tags_of,
    was_executed,
)
from nbrepro.errors import NotebookExecutionError
from nbrepro.progress import ProgressWriter
from nbrepro.record.tags import (
    EXPECTED_ERROR_TAG,
    INJECTED_PARAMETERS_TAG,
    INJECTED_TAG,
    PAPERMILL_MARKER_TAG,
)

# papermill.execute.ERROR_MARKER_TAG, named here to avoid importing papermill early.
# The markdown cell listing a rerun's Delta pins at the top of the output notebook.
PROGRESS_ENGINE = "nbrepro-progress"
# The kernel's own log (transport warnings, its dying words after a timeout) is not the
# user's business; nbrepro loads as an extension, so no cell of the user's shifts.
KERNEL_ARGUMENTS = (
    "--IPKernelApp.log_level=CRITICAL",
    # nbrepro under a name of its own (nbrepro/kernel/started.py): the notebook's
    # `%load_ext nbrepro` then prints no "already loaded".
    "--InteractiveShellApp.extra_extensions=nbrepro.kernel.started",
)


def user_cells(nb: nbformat.NotebookNode) -> list[Any]:
    """The notebook's cells without nbrepro's own (the pins note)."""
    return [c for c in nb.cells if INJECTED_TAG not in tags_of(c)]


def first_unexpected_error(nb: nbformat.NotebookNode) -> NotebookExecutionError | None:
    """The first failing cell not tagged ``raises-exception``.

    ``cell_index`` counts the cells the user sees in the output notebook (papermill's
    parameters cell included, nbrepro's note not).
    """
    for index, cell in enumerate(user_cells(nb)):
        if cell.cell_type != "code" or EXPECTED_ERROR_TAG in tags_of(cell):
            continue
        err = cell_error(cell)
        if err is not None:
            return error_at(cell, index, err)
    return None


def note_reply_error(cell: Any, cell_index: int, execute_reply: Mapping[str, Any]) -> None:
    """nbclient's ``on_cell_error`` hook: keep the kernel's error reply in the cell.

    A cell tagged ``raises-exception`` that fails without an error output (a missing
    line magic) is otherwise indistinguishable from one that ran fine.
    """
    content = execute_reply.get("content") or {}
    cell.setdefault("metadata", {}).setdefault("nbrepro", {})["reply_error"] = {
        "ename": str(content.get("ename", "")),
        "evalue": str(content.get("evalue", "")),
    }


def error_at(cell: Any, index: int, err: Mapping[str, str]) -> NotebookExecutionError:
    origin = (cell.get("metadata") or {}).get("nbrepro") or {}
    return NotebookExecutionError(
        index,
        cell.get("execution_count"),
        cell.get("source", ""),
        err["ename"],
        err["evalue"],
        original_execution_count=origin.get("execution_count"),
        # A replayed cell: named by its place in the original's notebook (-1: unknown),
        # never by its place in the replay, which a user cannot find.
        original_cell_index=(origin.get("doc_index") if origin.get("doc_index") is not None else -1)
        if "position" in origin
        else None,
    )


def strip_papermill_markers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.cells = [c for c in nb.cells if PAPERMILL_MARKER_TAG not in tags_of(c)]
    return nb


def _counted(cell: Any) -> bool:
    """A cell the user's run consists of."""
    return bool(cell.get("cell_type") == "code" and INJECTED_TAG not in tags_of(cell))


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


@dataclass
class Execution:
    """What one papermill execution ended with.

    Attributes:
        error: the first failing cell not expected to fail.
        failure: why the execution stopped short of a cell's error (the kernel died,
            a cell timed out, the kernel could not start), as ``"Name: message"``.
        failure_cell: the user-visible index of the cell running when it stopped.
        interrupted: stopped by Ctrl-C or SIGTERM.
    """

    error: NotebookExecutionError | None = None
    failure: str | None = None
    failure_name: str | None = None
    failure_cell: int | None = None
    interrupted: bool = False


def _restore_parameter_identity(source: nbformat.NotebookNode, out: nbformat.NotebookNode) -> None:
    """Give papermill's new ``injected-parameters`` cell the identity of the one it replaced.

    papermill replaces an existing ``injected-parameters`` cell with a fresh cell (new
    id, no metadata). A replay's copy of the original's parameters cell carries which
    execution of the original it stands for: the rerun's must too, or the comparison
    would align the cells after it wrongly.
    """
    old = [c for c in source.cells if INJECTED_PARAMETERS_TAG in tags_of(c)]
    if not old or "nbrepro" not in old[0].get("metadata", {}):
        return
    for cell in out.cells:
        if INJECTED_PARAMETERS_TAG in tags_of(cell) and "nbrepro" not in cell.metadata:
            cell.metadata["nbrepro"] = dict(old[0].metadata["nbrepro"])
            cell["id"] = old[0].get("id", cell.get("id"))


def _stopped_at(nb: nbformat.NotebookNode | None) -> int | None:
    """The user-visible index of the last cell that started running."""
    if nb is None:
        return None
    last = None
    for index, cell in enumerate(user_cells(nb)):
        if was_executed(cell):
            last = index
    return last


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
) -> Execution:
    """Execute ``source`` into ``output`` and say how it ended.

    Never raises for a notebook's own failure (a failing cell, a dead kernel, a
    timeout, a kernel that cannot start): the :class:`Execution` says which. An
    interrupt is reported too; the caller re-raises it once the run is recorded.

    Args:
        progress_file: append a progress line per finished cell to this file
            (see :mod:`nbrepro.progress`).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    engine: dict[str, Any] = {}
    if progress_file:
        engine = {"engine_name": _register_progress_engine(), "progress_file": str(progress_file)}
    result = Execution()
    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=dict(parameters) if parameters else None,
            cwd=None if cwd is None else str(cwd),
            kernel_name=kernel_name,
            progress_bar=progress,
            execution_timeout=timeout,
            extra_arguments=list(KERNEL_ARGUMENTS),
            on_cell_error=note_reply_error,
            **engine,
        )
    except PapermillExecutionError:
        pass  # read from the notebook below, with nbrepro's rules
    except KeyboardInterrupt:
        result.interrupted = True
        result.failure_name = "KeyboardInterrupt"
        result.failure = "KeyboardInterrupt: the execution was interrupted"
    except Exception as exc:  # kernel died, timeout, missing kernel: papermill's own errors
        result.failure_name = type(exc).__name__
        result.failure = f"{type(exc).__name__}: {_first_line(exc)}"
    nb = _read(output)
    if nb is not None:
        strip_papermill_markers(nb)
        _restore_parameter_identity(nbformat.read(str(source), as_version=4), nb)
        nbformat.write(nb, str(output))
        result.error = first_unexpected_error(nb)
    if result.failure is not None:
        result.failure_cell = _stopped_at(nb)
    return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or "no message"
    return text.splitlines()[0]


def _read(path: str | Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return None
