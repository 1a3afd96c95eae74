"""A rerun job's folder: its state file, log, progress and output, read by any process.

Layout of ``<jobs folder>/<job_id>/``:

- ``job.json``: the job's state (:class:`Job`), replaced atomically on every change;
- ``log.txt``: the rerun's stderr (warnings, and the CLI's ``Error: ...`` message);
- ``output.json``: its stdout, the ``nbrepro rerun --json`` report;
- ``progress.jsonl``: its progress lines (:mod:`nbrepro.progress`).

Everything here is plain files: the process running the job writes them, any
process sharing the folder reads them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nbrepro.errors import NbreproError
from nbrepro.paths import file_lock, write_json_atomic
from nbrepro.progress import read_progress
from nbrepro.record.vocabulary import (
    INTERRUPTED_EXITS,
    KILLED_EXITS,
    REPORT_EXITS,
    RERUN_ERROR_CODES,
    VERDICTS,
)
from nbrepro.redact import strip_uri_credentials, strip_uris_in_text

STATE_FILE = "job.json"
LOCK_FILE = "job.lock"
LOG_FILE = "log.txt"
OUTPUT_FILE = "output.json"
PROGRESS_FILE = "progress.jsonl"

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
# `nbrepro rerun` exit codes that come with a report on stdout (REPORT_EXITS): 3 is
# also "could not execute at all", then without a report.
LOG_TAIL_LINES = 20
_TAIL_BYTES = 16_384


def job_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """Hold a job's state for a read-decide-write, against every other process.

    The process that runs a job and one that cancels it (the Jupyter server and a
    kernel's card share the folder) would otherwise overwrite each other's
    ``job.json``: a job started just as it was cancelled, or settled as done.
    """
    return file_lock(folder / LOCK_FILE)


class JobUnreadable(NbreproError):
    """A job's state file cannot be read (edited or damaged by hand)."""


class JobNotFound(NbreproError):
    """No job with that id in the jobs folder (HTTP 404)."""


def utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Job:
    """One rerun job, as stored in its folder; :meth:`to_json` is the API's ``Job``."""

    job_id: str
    run_id: str
    options: dict[str, Any]
    folder: Path
    created_at: str
    state: str = "queued"
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    error: str | None = None
    # Why it could not run, for a client to act on (``JobErrorReason`` of the API):
    # what ``nbrepro rerun --json`` printed as its error's ``reason``.
    error_reason: dict[str, Any] | None = None
    verdict: str | None = None
    rerun_run_id: str | None = None
    # Where the run is stored, credentials stripped (the real URI stays in memory).
    tracking_uri: str | None = None
    # procs.identity() of the process that queued the job, plus its manager's id.
    owner: dict[str, Any] = field(default_factory=dict)
    # procs.identity() of the `nbrepro rerun` process, once started.
    process: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    # -- files ------------------------------------------------------------------------

    def save(self) -> None:
        """Persist the state (atomically: other processes read it at any time)."""
        state = asdict(self)
        del state["folder"]
        write_json_atomic(self.folder / STATE_FILE, state)

    @classmethod
    def load(cls, folder: Path) -> Job:
        """Read a job's state from its folder."""
        path = folder / STATE_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise JobNotFound(f"no rerun job {folder.name} in {folder.parent}") from None
        except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
            raise JobUnreadable(f"rerun job {folder.name}: {path} is unreadable ({exc})") from exc
        known = {f.name for f in fields(cls)}
        try:
            return cls(folder=folder, **{k: v for k, v in data.items() if k in known})
        except (AttributeError, TypeError) as exc:  # not an object, or fields missing
            raise JobUnreadable(f"rerun job {folder.name}: {path} is not a job ({exc})") from exc

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The last lines of the rerun's log (its stderr), credentials stripped from URIs.

        The log goes into API responses and the job's ``error``: a tracking URI with
        credentials that MLflow or an error message printed must not.
        """
        try:
            with open(self.folder / LOG_FILE, "rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - _TAIL_BYTES))
                text = fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return strip_uris_in_text(text).splitlines()[-lines:]

    def report(self) -> dict[str, Any] | None:
        """The rerun's report (``nbrepro rerun --json``), when it printed one."""
        data = self._output()
        return data if data.get("verdict") in VERDICTS else None

    def _output(self) -> dict[str, Any]:
        """What ``nbrepro rerun --json`` printed: a report or an error; {} without one."""
        try:
            data = json.loads((self.folder / OUTPUT_FILE).read_text("utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _error_reason(self) -> dict[str, Any] | None:
        reason = self._output().get("reason")
        if isinstance(reason, dict) and reason.get("code") in RERUN_ERROR_CODES:
            # Served and shown like `error`: no credentials in a URI or a message.
            tables = [
                {
                    k: (strip_uri_credentials(v) if k == "uri" else strip_uris_in_text(v))
                    if isinstance(v, str)
                    else v
                    for k, v in table.items()
                }
                for table in reason.get("tables") or []
                if isinstance(table, dict)
            ]
            return {**reason, "tables": tables}
        return None

    def progress(self) -> dict[str, Any]:
        """``{"cells_done", "cells_total", "phase"}`` as the rerun last reported them."""
        if self.state == "queued":
            return {"cells_done": 0, "cells_total": 0, "phase": "queued"}
        seen = read_progress(self.folder / PROGRESS_FILE)
        phase = seen["phase"] or "checking data"  # the rerun's first step, before its first line
        if self.state == "succeeded":
            phase = "done"
        return {
            "cells_done": int(seen["cells_done"] or 0),
            "cells_total": int(seen["cells_total"] or 0),
            "phase": phase,
        }

    def to_json(self) -> dict[str, Any]:
        """The API's ``Job`` (see docs/rest-api.md)."""
        return {
            "job_id": self.job_id,
            "run_id": self.run_id,
            "options": dict(self.options),
            "state": self.state,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": self.progress(),
            "log_tail": self.log_tail(),
            "verdict": self.verdict,
            "rerun_run_id": self.rerun_run_id,
            "exit_code": self.exit_code,
            "error": self.error,
            "error_reason": self.error_reason,
            "report": self.report() if self.state == "succeeded" else None,
        }

    # -- outcome ----------------------------------------------------------------------

    def settle(self, exit_code: int | None, lost_owner: str | None = None) -> None:
        """Set the final state from the rerun's exit code, report and log.

        ``exit_code`` is None when the process that waited for the rerun ended
        first (``lost_owner`` says which): the report alone then tells success.
        A job is ``succeeded`` only with a report carrying a verdict.
        """
        self.exit_code = exit_code
        self.finished_at = self.finished_at or utcnow()
        if self.state == "cancelled":
            return
        if exit_code is not None and exit_code in KILLED_EXITS:
            # Not a Cancel (that state is set before the kill): the system killed it,
            # most often for want of memory. Saying "cancelled" would hide that.
            self.state = "failed"
            self.error = (
                "the rerun was killed (SIGKILL) before it finished, most often because the "
                "machine ran out of memory"
            )
            return
        if exit_code is not None and (exit_code < 0 or exit_code in INTERRUPTED_EXITS):
            self.state = "cancelled"
            self.error = f"stopped by {_signal_name(exit_code)}"
            return
        report = self.report()
        if report is not None and (exit_code is None or exit_code in REPORT_EXITS):
            self.state = "succeeded"
            self.verdict = str(report["verdict"])
            self.rerun_run_id = report.get("run_id")
            return
        self.state = "failed"
        self.error_reason = self._error_reason()
        message = cli_error(self.log_tail(lines=200))
        if message:
            self.error = message
        elif exit_code is None:
            self.error = f"{lost_owner} ended before the rerun finished, and it left no report"
        else:
            tail = self.log_tail()
            self.error = f"nbrepro rerun exited with code {exit_code}" + (
                ":\n" + "\n".join(tail) if tail else " and wrote no log"
            )


def _signal_name(exit_code: int) -> str:
    number = -exit_code if exit_code < 0 else exit_code - 128
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def cli_error(lines: list[str]) -> str | None:
    """The message of the CLI's last ``Error: ...`` (it may span several lines)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("Error: "):
            return "\n".join([lines[index][len("Error: ") :], *lines[index + 1 :]]).strip()
    return None
