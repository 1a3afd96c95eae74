"""Progress of a rerun, as JSON lines in a file another process reads.

``nbrepro rerun`` appends one line per phase and one per executed cell when
:data:`nbrepro.paths.PROGRESS_FILE_ENV` names a file; a rerun job reads the file
to show "executing, cell 3 of 7". Appending whole lines keeps a reader safe from
half-written state: an incomplete last line is skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PHASES = ("queued", "checking data", "building environment", "executing", "comparing", "done")


class ProgressWriter:
    """Appends progress lines to a file; does nothing without one."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None

    def write(
        self, phase: str, *, cells_done: int | None = None, cells_total: int | None = None
    ) -> None:
        """Record the current phase and, while executing, the cells done so far."""
        if self.path is None:
            return
        line: dict[str, Any] = {"phase": phase}
        if cells_done is not None:
            line["cells_done"] = cells_done
        if cells_total is not None:
            line["cells_total"] = cells_total
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        except OSError as exc:
            # Progress is a courtesy to the watcher: the rerun goes on without it.
            print(
                f"nbrepro warning: progress not written to {self.path}: {exc}; "
                "the rerun continues without progress reports",
                file=sys.stderr,
            )
            self.path = None


def read_progress(path: Path) -> dict[str, Any]:
    """The latest progress in ``path``: ``{"phase", "cells_done", "cells_total"}``.

    Missing values are None (no line yet, or no cells counted yet).
    """
    state: dict[str, Any] = {"phase": None, "cells_done": None, "cells_total": None}
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return state
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # the writer is mid-line
        if isinstance(entry, dict):
            state.update({k: entry[k] for k in state if k in entry})
    return state
