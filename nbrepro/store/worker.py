"""nbrepro's worker process: work a capture hands off so the user's cell returns first.

The kernel keeps one worker, a Python process started in a session of its own, and
sends it jobs (a picklable function and its arguments) over a pipe; results come
back over another. The worker renders and uploads a capture's HTML: CPU-bound
work that would otherwise hold the kernel's GIL while the user's next cells run.

Not ``concurrent.futures.ProcessPoolExecutor``: its processes are started by
``multiprocessing``, which also starts a resource tracker in the kernel's process
group. That tracker ignores SIGTERM, and ipykernel, closing, signals every child
of its process group and waits for each to go: every kernel took 2.6 s to close,
then was killed. A pool's worker also joins its session only once it runs, so a
Kernel > Interrupt during its start killed it. Here the worker is in its own
session before it runs a line, and the kernel holds nothing that outlives it.

The worker outlives its kernel only to finish the jobs it was given: when the job
pipe closes (the kernel is gone) it runs what it already read, then exits, within
:data:`ORPHAN_LIMIT_S` in all. What it never ran is in nbrepro's spool for
``nbrepro sync``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import IO, Any

from nbrepro import paths

# How long the worker may go on once its kernel is gone.
ORPHAN_LIMIT_S = 600.0
# How long a closing kernel waits to hand over the jobs it queued (the pipe takes them
# at once unless the worker is stuck; jupyter_client kills a kernel 5 s after asking it
# to close, and the preload's own wait comes first: see kernel/preload.py).
HANDOFF_LIMIT_S = 1.5
# A job frame: job id, payload length; a result frame: job id, ok, payload length.
_JOB = struct.Struct("!QQ")
_RESULT = struct.Struct("!Q?Q")


class WorkerStopped(RuntimeError):
    """The worker process ended before it answered (killed, out of memory)."""


class RemoteError(Exception):
    """An exception raised in the worker that could not be sent back as itself."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return RemoteError, (self.kind, self.message)


class _Link:
    """One worker process and the two pipes to it."""

    def __init__(self) -> None:
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        if root not in _site_dirs():
            # A source checkout (an editable install, a kernel started in it): the worker
            # imports nbrepro from there, after the user's own PYTHONPATH. An installed
            # nbrepro is found without it, and its site-packages must not come before
            # the standard library.
            env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), root) if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "nbrepro.store.worker", str(job_r), str(result_w)],
                pass_fds=(job_r, result_w),
                stdin=subprocess.DEVNULL,
                # Its output goes nowhere: it must not keep open a pipe someone reads to
                # its end (a terminal, a CI log) once the kernel is gone; its errors come
                # back with the job's result.
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                # Out of the kernel's process group before it runs: an interrupt or a
                # kernel closing signals that group.
                start_new_session=True,
            )
        except BaseException:
            os.close(job_w)
            os.close(result_r)
            raise
        finally:
            os.close(job_r)
            os.close(result_w)
        self.process = process
        self._jobs: IO[bytes] = os.fdopen(job_w, "wb")
        self._results: IO[bytes] = os.fdopen(result_r, "rb")
        self.pending: dict[int, Future[Any]] = {}
        self.alive = True
        self._outbox: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._writer = threading.Thread(target=self._write, name="nbrepro-jobs", daemon=True)
        self._writer.start()
        threading.Thread(target=self._read, name="nbrepro-results", daemon=True).start()

    def send(self, job_id: int, payload: bytes, future: Future[Any]) -> bool:
        """Queue a job; False when the worker has stopped."""
        with self._lock:
            if not self.alive:
                return False
            self.pending[job_id] = future
        self._outbox.put((job_id, payload))
        return True

    def close(self, timeout: float) -> None:
        """Hand over what is queued (at most ``timeout`` s), then close the job pipe:
        the worker runs what it has and exits."""
        self._outbox.put(None)
        self._writer.join(timeout)

    def _write(self) -> None:
        try:
            while (item := self._outbox.get()) is not None:
                job_id, payload = item
                self._jobs.write(_JOB.pack(job_id, len(payload)) + payload)
                self._jobs.flush()
        except OSError:  # the worker is gone: _read fails what it had
            pass
        finally:
            with contextlib.suppress(OSError):
                self._jobs.close()

    def _read(self) -> None:
        try:
            while header := _read_exact(self._results, _RESULT.size):
                job_id, ok, size = _RESULT.unpack(header)
                ok, value = _loads(ok, _read_exact(self._results, size))
                with self._lock:
                    future = self.pending.pop(job_id, None)
                if future is not None:
                    _settle(future, ok, value)
        except (OSError, EOFError, struct.error):
            pass  # the worker is gone, or its pipe broken: it counts as stopped
        finally:
            self._stopped()

    def _stopped(self) -> None:
        code = self.process.poll()
        if code is None:
            try:
                code = self.process.wait(5)
            except subprocess.TimeoutExpired:
                code = None
        with self._lock:
            self.alive = False
            pending, self.pending = self.pending, {}
        how = f" (exit code {code})" if code is not None else ""
        for future in pending.values():
            _settle(future, False, WorkerStopped(f"nbrepro's worker process stopped{how}"))


def _settle(future: Future[Any], ok: bool, value: Any) -> None:
    """A job's outcome on its future; one a caller already settled is left as it is
    (the reader thread must outlive any caller's mistake)."""
    with contextlib.suppress(InvalidStateError):
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


@functools.lru_cache(maxsize=1)
def _site_dirs() -> frozenset[str]:
    import site

    dirs = set(site.getsitepackages())
    with contextlib.suppress(Exception):  # no user site in some virtualenvs
        dirs.add(site.getusersitepackages())
    return frozenset(str(Path(d).resolve()) for d in dirs)


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    """``size`` bytes, or ``b""`` at the end of the stream."""
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            if data:
                raise EOFError("cut short")
            return b""
        data += chunk
    return data


def _loads(ok: bool, data: bytes) -> tuple[bool, Any]:
    """(ok, value) of a result frame; a result the kernel cannot unpickle is a failure."""
    try:
        value = pickle.loads(data)
    except Exception as exc:  # a result whose class the kernel cannot load
        return False, RemoteError(type(exc).__name__, str(exc))
    if not ok and not isinstance(value, BaseException):
        return False, RemoteError(type(value).__name__, repr(value)[:200])
    return ok, value


class Worker:
    """The kernel's side: one worker process at a time, started when first needed and
    started again when it has stopped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._link: _Link | None = None
        self._ids = 0

    def start(self) -> None:
        """Start the worker now, if it is not running."""
        with self._lock:
            self._current()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` in the worker. Never raises: a failure to start the
        worker, or to pickle the job, is the future's exception."""
        future: Future[Any] = Future()
        # Running from the start: a caller's cancel() cannot race the result coming back.
        future.set_running_or_notify_cancel()
        try:
            payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
            for _ in range(2):  # a worker found stopped is replaced once
                with self._lock:
                    link = self._current()
                    self._ids += 1
                    job_id = self._ids
                if link.send(job_id, payload, future):
                    return future
            raise WorkerStopped("nbrepro's worker process stopped as it started")
        except Exception as exc:  # OSError starting it, a job that does not pickle
            future.set_exception(exc)
        return future

    def pid(self) -> int | None:
        """The running worker's process id (tests, diagnostics)."""
        link = self._link
        return link.process.pid if link is not None and link.alive else None

    def close(self, timeout: float = HANDOFF_LIMIT_S) -> None:
        """Hand the worker what is queued and let it finish on its own."""
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.close(timeout)

    def _current(self) -> _Link:
        if self._link is None or not self._link.alive:
            self._link = _Link()
        return self._link


WORKER = Worker()
atexit.register(WORKER.close)


# --- the worker process -------------------------------------------------------------


def _exit_once_orphaned(parent: int, poll: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(poll)
    time.sleep(ORPHAN_LIMIT_S)
    os._exit(0)


def _read_jobs(stream: IO[bytes], jobs: queue.SimpleQueue[tuple[int, bytes] | None]) -> None:
    """Read every job as it comes, so that the kernel's writes never wait on a job
    under way; ``None`` once the kernel closed the pipe."""
    try:
        while header := _read_exact(stream, _JOB.size):
            job_id, size = _JOB.unpack(header)
            jobs.put((job_id, _read_exact(stream, size)))
    except (OSError, EOFError):
        pass
    jobs.put(None)


def _result(ok: bool, value: Any) -> tuple[bool, bytes]:
    try:
        return ok, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # a value or an exception that does not pickle
        failed = value if not ok else exc
        return False, pickle.dumps(RemoteError(type(failed).__name__, str(failed)))


def main(job_fd: int, result_fd: int) -> None:
    """Run jobs until the kernel closes the job pipe."""
    with contextlib.suppress(OSError):
        os.nice(10)  # the user's kernels first
    paths.skip_iri_format_checker()  # nbconvert's nbformat: a second of CPU spared
    jobs: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
    with os.fdopen(job_fd, "rb") as inbox, os.fdopen(result_fd, "wb") as outbox:
        threading.Thread(target=_read_jobs, args=(inbox, jobs), daemon=True).start()
        threading.Thread(target=_exit_once_orphaned, args=(os.getppid(),), daemon=True).start()
        while (item := jobs.get()) is not None:
            job_id, payload = item
            try:
                fn, args = pickle.loads(payload)
                ok, value = True, fn(*args)
            except BaseException as exc:  # sent back to the kernel, as the job's outcome
                ok, value = False, exc
            ok, data = _result(ok, value)
            try:
                outbox.write(_RESULT.pack(job_id, ok, len(data)) + data)
                outbox.flush()
            except OSError:  # the kernel is gone; the job's own effects stand
                pass


if __name__ == "__main__":
    # Run from the module by its name, not from __main__: what the worker sends back
    # (RemoteError) must unpickle in the kernel as nbrepro.store.worker's.
    from nbrepro.store import worker

    worker.main(int(sys.argv[1]), int(sys.argv[2]))
