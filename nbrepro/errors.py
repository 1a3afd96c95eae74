"""Error types that carry what a user needs to act on them."""

from __future__ import annotations


class NbreproError(Exception):
    """Base class of nbrepro's own errors (shown without a traceback by the CLI)."""


class TrackingUnavailable(NbreproError):
    """The tracking store cannot be reached or refused a write."""

    def __init__(self, tracking_uri: str, reason: str) -> None:
        super().__init__(f"tracking store {tracking_uri} is unavailable: {reason}")
        self.tracking_uri = tracking_uri
        self.reason = reason


class RecordError(NbreproError):
    """A run record is missing, corrupted or of an unknown schema version."""


class NotebookExecutionError(NbreproError):
    """A notebook cell raised during a headless run.

    Attributes mirror papermill's ``PapermillExecutionError``: ``cell_index`` counts the
    cells of the notebook as the user sees it (0-based; nbrepro's own note not counted)
    and ``execution_count`` is the cell's ``In [n]``. In a rerun,
    ``original_execution_count`` is the ``In [n]`` of the original's execution the
    cell replays and ``original_cell_index`` the place of that cell in the original's
    notebook (-1 when unknown; None when the cell is not a replayed one): a replay holds
    only the executed cells, in executed order, so its own index is no place a user can
    find in their notebook.
    """

    def __init__(
        self,
        cell_index: int,
        execution_count: int | None,
        source: str,
        ename: str,
        evalue: str,
        original_execution_count: int | None = None,
        original_cell_index: int | None = None,
    ) -> None:
        self.cell_index = cell_index
        self.execution_count = execution_count
        self.source = source
        self.ename = ename
        self.evalue = evalue
        self.original_execution_count = original_execution_count
        self.original_cell_index = original_cell_index
        super().__init__(f"{self.where} raised {ename}: {evalue}")

    @property
    def where(self) -> str:
        """The cell as a user finds it: ``In [2] (cell 3)``, as papermill names it.

        A replayed cell is named as the original's notebook shows it (its place there and
        its ``In [n]``), with the rerun's own ``In [n]`` after it.
        """
        if self.original_cell_index is not None:
            label = cell_label(self.original_cell_index, self.original_execution_count)
            if self.execution_count is not None and (
                self.execution_count != self.original_execution_count
            ):
                label += f", the rerun's In [{self.execution_count}]"
            return label
        return cell_label(self.cell_index, self.execution_count, self.original_execution_count)


def cell_label(
    cell_index: int | None,
    execution_count: int | None,
    original_execution_count: int | None = None,
) -> str:
    """``In [2] (cell 3)``: a cell named the way Jupyter and papermill show it.

    ``cell_index`` is 0-based; people count cells from 1. A replayed cell also names
    the original's execution it stands for.
    """
    parts = []
    if execution_count is not None:
        parts.append(f"In [{execution_count}]")
    if cell_index is not None and cell_index >= 0:
        parts.append(f"cell {cell_index + 1}")
    label = parts[0] if parts else "a cell"
    if len(parts) > 1:
        label += f" ({parts[1]})"
    if original_execution_count is not None and original_execution_count != execution_count:
        label += f", the original's In [{original_execution_count}]"
    return label


class KernelNotFound(NbreproError):
    """The kernel a notebook or a run names is not installed here."""


ECHO_CHARS = 80


def clipped_repr(value: object, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` for a message, cut after ``limit`` characters.

    A message quotes what the user gave so they can spot their mistake; a request may
    send megabytes, which must not come back whole in an answer nor fill a log line.
    ``'aaaa'…(5242880 chars)`` says how long the value was.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}…({len(value)} chars)"
    return clipped_text(repr(value), limit)


def clipped_text(text: str, limit: int) -> str:
    """``text`` cut after ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} chars)"


def clipped_names(names: list[str], most: int = 5) -> str:
    """``a, b and 3 more``: names a user sent (unknown fields), a few of them, each cut."""
    shown = ", ".join(clipped_text(name, 40) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
