"""Rerun jobs: ``nbrepro rerun`` in processes of their own, queued, followed, cancelled.

Used by the Jupyter server's ``/nbrepro/reruns`` endpoints and by the capture
card in a kernel, on one shared folder (:func:`nbrepro.paths.jobs_dir`). Each
job is a folder (see :mod:`nbrepro.jobs.state`) holding its state, so jobs outlive
the browser tab and the process that started them.

A job is owned by the :class:`JobManager` that queued it: only that one starts
it and collects its exit code. Any manager, in any process, can list it, follow
it and cancel it. When the owner's process is gone (a restarted server), the
next manager to look settles the job from what it left: a running rerun is
followed until it ends, and its report decides whether it succeeded.

At most ``max_concurrent`` reruns of one manager run at once; the rest wait,
``queued``, and start in order as slots free.
"""

from __future__ import annotations

import builtins
import logging
import math
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nbrepro.errors import NbreproError, clipped_names, clipped_repr
from nbrepro.jobs import procs
from nbrepro.jobs.state import (
    LOG_FILE,
    OUTPUT_FILE,
    PROGRESS_FILE,
    Job,
    JobNotFound,
    JobUnreadable,
    job_lock,
    utcnow,
)
from nbrepro.paths import CAPTURE_DIR_ENV, PINS_ENV, PROGRESS_FILE_ENV
from nbrepro.record.vocabulary import (
    CURRENT,
    DATA_MODES,
    ENV_MODES,
    PINNED,
    RECORDED,
    DataMode,
    EnvMode,
)
from nbrepro.store.runs import RUN_ID_RE
from nbrepro.store.tracking import display_uri

log = logging.getLogger(__name__)

JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# Seconds between SIGTERM and SIGKILL when cancelling: enough for the rerun to shut
# its kernel down and end its MLflow run as KILLED.
KILL_GRACE_S = 10.0
# Variables of the process that starts a job that must not reach the rerun: they
# would attach it to the starting kernel's own run or capture folder.
_INHERITED_NOT = ("MLFLOW_RUN_ID", CAPTURE_DIR_ENV, PINS_ENV, PROGRESS_FILE_ENV)
_REQUEST_FIELDS = frozenset(
    {"run_id", "env", "data", "tolerance", "allow_missing", "repeat", "tracking_uri"}
)
# Reruns one request may ask for (each is a whole re-execution).
MAX_REPEAT = 10

__all__ = ["Job", "JobManager", "JobNotFound", "JobRequestError", "RerunRequest"]


class JobRequestError(NbreproError):
    """A rerun request or job id the caller must fix (HTTP 400)."""


@dataclass
class RerunRequest:
    """What to re-execute, and how (the API's ``RerunRequest``)."""

    run_id: str
    env: EnvMode = CURRENT
    data: DataMode = PINNED
    tolerance: float | None = None
    allow_missing: bool = False
    repeat: int = 1
    # The store holding the run; None: what `nbrepro rerun` resolves by itself.
    tracking_uri: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> RerunRequest:
        """A request from a JSON body, every field checked.

        Raises:
            JobRequestError: naming the field to fix.
        """
        if not isinstance(body, Mapping):
            raise JobRequestError("the request body must be a JSON object")
        unknown = sorted(set(body) - _REQUEST_FIELDS)
        if unknown:
            raise JobRequestError(f"unknown field(s) {clipped_names(unknown)} in the rerun request")
        for key in ("run_id", "env", "data", "tracking_uri"):
            if key in body and body[key] is not None and not isinstance(body[key], str):
                raise JobRequestError(f"{key} must be a string")
        if "allow_missing" in body and not isinstance(body["allow_missing"], bool):
            raise JobRequestError("allow_missing must be true or false")
        request = cls(
            run_id=body.get("run_id") or "",
            env=body.get("env") or CURRENT,
            data=body.get("data") or PINNED,
            tolerance=body.get("tolerance"),
            allow_missing=bool(body.get("allow_missing", False)),
            repeat=body.get("repeat", 1),
            tracking_uri=body.get("tracking_uri") or None,
        )
        request.validate()
        return request

    def validate(self) -> None:
        """Raise :class:`JobRequestError` unless every option is one the CLI takes."""
        if not RUN_ID_RE.match(self.run_id or ""):
            raise JobRequestError(
                f"run_id {clipped_repr(self.run_id)} is not an MLflow run id (32 hex)"
            )
        if self.env not in ENV_MODES:
            raise JobRequestError(
                f"env must be one of {', '.join(ENV_MODES)}, not {clipped_repr(self.env)}"
            )
        if self.data not in DATA_MODES:
            raise JobRequestError(
                f"data must be one of {', '.join(DATA_MODES)}, not {clipped_repr(self.data)}"
            )
        tol = self.tolerance
        if tol is not None and (
            isinstance(tol, bool)
            or not isinstance(tol, int | float)
            or not math.isfinite(tol)
            or tol < 0
        ):
            raise JobRequestError(
                f"tolerance must be a non-negative number (a relative tolerance), not {clipped_repr(tol)}"
            )
        if self.allow_missing and self.env != RECORDED:
            raise JobRequestError("allow_missing applies to env 'recorded' only")
        n = self.repeat
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPEAT:
            raise JobRequestError(
                f"repeat must be a whole number of reruns from 1 to {MAX_REPEAT}, "
                f"not {clipped_repr(n)}"
            )

    def options(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "data": self.data,
            "tolerance": None if self.tolerance is None else float(self.tolerance),
            "allow_missing": self.allow_missing,
            "repeat": self.repeat,
        }

    def argv(self) -> list[str]:
        """The ``nbrepro rerun`` command line."""
        args = [sys.executable, "-m", "nbrepro", "rerun", self.run_id, "--json"]
        args += ["--env", self.env, "--data", self.data]
        if self.tolerance is not None:
            args += ["--tolerance", repr(float(self.tolerance))]
        if self.allow_missing:
            args.append("--allow-missing")
        if self.repeat > 1:
            args += ["--repeat", str(self.repeat)]
        return args


def check_job_id(job_id: str) -> str:
    """``job_id`` if it has the form of one, else :class:`JobRequestError`."""
    if not JOB_ID_RE.match(job_id or ""):
        raise JobRequestError(f"{clipped_repr(job_id)} is not a rerun job id (32 hex characters)")
    return job_id


class JobManager:
    """Starts, queues, follows and cancels rerun jobs kept in ``folder``.

    Thread-safe; the server calls it from worker threads, and one waiter thread
    per running job collects its exit code and starts the next queued job.
    """

    def __init__(
        self, folder: Path, max_concurrent: int = 2, *, kill_grace: float = KILL_GRACE_S
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_concurrent = max_concurrent
        self.kill_grace = kill_grace
        self._lock = threading.RLock()
        self._owned: dict[str, Job] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        # Tracking URIs as given (credentials included) for jobs not started yet.
        self._uris: dict[str, str | None] = {}
        self._owner = {**procs.identity(os.getpid()), "manager": uuid.uuid4().hex}

    # -- public API -------------------------------------------------------------------

    def submit(self, request: RerunRequest) -> Job:
        """Queue a rerun; it starts at once when fewer than ``max_concurrent`` run."""
        request.validate()
        job_id = uuid.uuid4().hex
        job = Job(
            job_id=job_id,
            run_id=request.run_id,
            options=request.options(),
            folder=self.folder / job_id,
            created_at=utcnow(),
            tracking_uri=display_uri(request.tracking_uri) if request.tracking_uri else None,
            owner=dict(self._owner),
        )
        job.folder.mkdir()
        with self._lock:
            job.save()
            self._owned[job_id] = job
            self._uris[job_id] = request.tracking_uri
            self._schedule()
            return replace(job)

    def get(self, job_id: str) -> Job:
        """The job's current state (a snapshot).

        Raises:
            JobRequestError: ``job_id`` is not of the form of one.
            JobNotFound: no such job in the folder.
        """
        check_job_id(job_id)
        with self._lock:
            if job_id in self._owned:
                return replace(self._owned_state(job_id))
        return self._reconciled(Job.load(self.folder / job_id))

    def list(self, run_id: str | None = None) -> builtins.list[Job]:
        """Jobs in the folder (of ``run_id`` only, when given), newest first."""
        jobs = []
        for entry in self.folder.iterdir():
            if not JOB_ID_RE.match(entry.name):
                continue
            try:
                job = self.get(entry.name)
            except JobNotFound:
                continue  # being created by another process right now
            except JobUnreadable as exc:
                # One damaged folder must not hide every other job from the sidebar.
                log.warning("%s; left out of the job list", exc)
                continue
            if run_id is None or job.run_id == run_id:
                jobs.append(job)
        jobs.sort(key=lambda j: (j.created_at, j.job_id), reverse=True)
        return jobs

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one never starts; a running one's processes are stopped.

        A finished job is returned unchanged.

        Raises:
            JobRequestError: the job runs on another host.
            JobNotFound: no such job.
        """
        check_job_id(job_id)
        folder = self.folder / job_id
        if not folder.is_dir():
            raise JobNotFound(f"no rerun job {job_id} in {self.folder}")
        with self._lock, job_lock(folder):
            if job_id in self._owned:
                job = self._owned_state(job_id)
            else:
                job = self._reconciled(Job.load(folder), locked=True)
            if job.finished:
                return replace(job)
            if job.state == "running" and job.process:
                if procs.is_alive(job.process) is None:
                    raise JobRequestError(
                        f"job {job_id} runs on host {job.process.get('host')}; cancel it there"
                    )
                procs.stop_group(job.process, self.kill_grace)
            job.state = "cancelled"
            job.finished_at = utcnow()
            job.save()
            self._uris.pop(job_id, None)
            if job_id not in self._procs:
                self._owned.pop(job_id, None)  # a running one is dropped by its waiter
            return replace(job)

    # -- internals --------------------------------------------------------------------

    def _owned_state(self, job_id: str) -> Job:
        """An owned job, with a cancellation made by another manager taken in."""
        job = self._owned[job_id]
        if not job.finished:
            try:
                stored = Job.load(job.folder)
            except JobNotFound:
                return job
            if stored.state == "cancelled":
                job.state, job.finished_at = "cancelled", stored.finished_at
        return job

    def _reconciled(self, job: Job, *, locked: bool = False) -> Job:
        """A job of another manager, settled if its owner's process is gone.

        ``locked``: the caller holds the job's lock (flock does not nest).
        """
        if job.finished or procs.is_alive(job.owner) is not False:
            return job
        lost = f"the process that started this job (pid {job.owner.get('pid')})"
        if locked:
            return self._settle_orphan(job, lost)
        with job_lock(job.folder):
            stored = Job.load(job.folder)  # as it is now, under the lock
            if stored.finished:
                return stored
            return self._settle_orphan(stored, lost)

    @staticmethod
    def _settle_orphan(job: Job, lost: str) -> Job:
        """Settle a job whose owner is gone (its job lock held)."""
        if job.state == "queued":
            job.state, job.finished_at = "failed", utcnow()
            job.error = f"never started: {lost} ended first"
        elif procs.is_alive(job.process):
            return job  # the rerun itself still runs: follow it from its files
        else:
            job.settle(None, lost_owner=lost)
        job.save()
        return job

    def _schedule(self) -> None:
        """Start queued jobs, oldest first, while slots are free (lock held)."""
        queued = sorted(
            (j for j in self._owned.values() if j.state == "queued"), key=lambda j: j.created_at
        )
        for job in queued:
            if len(self._procs) >= self.max_concurrent:
                return
            with job_lock(job.folder):
                if self._owned_state(job.job_id).state != "queued":
                    self._forget(job.job_id)  # cancelled meanwhile by another manager
                    continue
                try:
                    self._start(job)
                except OSError as exc:
                    job.state, job.finished_at = "failed", utcnow()
                    job.error = f"could not start nbrepro rerun: {exc}"
                    job.save()
                    self._forget(job.job_id)

    def _forget(self, job_id: str) -> None:
        """Stop holding a finished job in memory: its folder says all (lock held)."""
        self._owned.pop(job_id, None)
        self._uris.pop(job_id, None)

    def _start(self, job: Job) -> None:
        request = RerunRequest(
            run_id=job.run_id,
            env=job.options["env"],
            data=job.options["data"],
            tolerance=job.options["tolerance"],
            allow_missing=job.options["allow_missing"],
            # Absent from jobs queued by an nbrepro without it: one rerun.
            repeat=job.options.get("repeat", 1),
        )
        env = {k: v for k, v in os.environ.items() if k not in _INHERITED_NOT}
        env[PROGRESS_FILE_ENV] = str(job.folder / PROGRESS_FILE)
        uri = self._uris.pop(job.job_id, None)
        if uri:
            env["MLFLOW_TRACKING_URI"] = uri  # not on the command line: it may hold credentials
        with (
            open(job.folder / OUTPUT_FILE, "wb") as out,
            open(job.folder / LOG_FILE, "wb") as log,
        ):
            proc = subprocess.Popen(
                request.argv(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
                env=env,
                # Its own process group: cancelling stops the rerun and all it started.
                start_new_session=True,
            )
        self._procs[job.job_id] = proc
        job.process = procs.identity(proc.pid)
        job.state, job.started_at = "running", utcnow()
        job.save()
        threading.Thread(
            target=self._wait, args=(job, proc), name=f"nbrepro-job-{job.job_id[:8]}", daemon=True
        ).start()

    def _wait(self, job: Job, proc: subprocess.Popen[bytes]) -> None:
        exit_code = proc.wait()
        with self._lock:
            self._procs.pop(job.job_id, None)
            with job_lock(job.folder):
                self._owned_state(job.job_id)  # a cancel from another process counts
                job.settle(exit_code)
                job.save()
            self._forget(job.job_id)
            self._schedule()
