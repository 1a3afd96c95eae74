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

    Attributes mirror papermill's ``PapermillExecutionError``.
    """

    def __init__(
        self, cell_index: int, execution_count: int | None, source: str, ename: str, evalue: str
    ) -> None:
        super().__init__(f"cell {cell_index} raised {ename}: {evalue}")
        self.cell_index = cell_index
        self.execution_count = execution_count
        self.source = source
        self.ename = ename
        self.evalue = evalue
