"""nbrepro's worker process (nbrepro/store/worker.py), driven as a kernel drives it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from helpers import process_gone

from nbrepro.store.worker import RemoteError, Worker, WorkerStopped


class Unpicklable(Exception):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("not this one")


def _raise_unpicklable() -> None:
    raise Unpicklable("kept as text")


def _refuse_to_load() -> None:
    raise ValueError("this result cannot be loaded here")


class LoadsNowhere:
    """Pickles in the worker; unpickling it in the kernel raises."""

    def __reduce__(self) -> tuple[object, ...]:
        return _refuse_to_load, ()


def _make_loads_nowhere() -> LoadsNowhere:
    return LoadsNowhere()


def _write_later(path: str, delay: float) -> None:
    time.sleep(delay)
    Path(path).write_text("done", "utf-8")


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    # The jobs below are this module's functions: the worker imports them by name.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    w = Worker()
    yield w
    w.close()


def test_results_and_errors_come_back_with_their_type(worker: Worker) -> None:
    assert worker.submit(pow, 2, 10).result(60) == 1024
    with pytest.raises(ZeroDivisionError):
        worker.submit(divmod, 1, 0).result(60)
    with pytest.raises(RemoteError, match="Unpicklable: kept as text") as info:
        worker.submit(_raise_unpicklable).result(60)
    assert info.value.kind == "Unpicklable"
    # A job that cannot be sent fails its own future, not the worker.
    with pytest.raises(AttributeError):
        worker.submit(lambda: 1).result(60)
    assert worker.submit(pow, 3, 2).result(60) == 9


def test_a_result_the_kernel_cannot_load_is_a_failure(worker: Worker) -> None:
    with pytest.raises(RemoteError, match="ValueError: this result cannot be loaded here"):
        worker.submit(_make_loads_nowhere).result(60)
    assert worker.submit(pow, 2, 3).result(60) == 8


def test_a_caller_cancelling_cannot_stop_the_results(worker: Worker, tmp_path: Path) -> None:
    slow = worker.submit(_write_later, str(tmp_path / "slow"), 0.5)
    # Jobs run once sent: cancel() says so, and the result still comes back.
    assert not slow.cancel()
    assert slow.result(60) is None
    assert worker.submit(pow, 2, 4).result(60) == 16


def _in_our_group() -> set[int]:
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if os.getpgid(child.pid) == os.getpgrp():
                found.add(child.pid)
        except OSError:  # gone meanwhile
            pass
    return found


def test_the_worker_is_in_a_session_of_its_own_with_no_helper_in_ours(worker: Worker) -> None:
    before = _in_our_group()
    worker.start()
    assert worker.submit(pow, 2, 1).result(60) == 2
    pid = worker.pid()
    assert pid is not None
    # An interrupt (killpg of the kernel's group) or a kernel closing does not reach it.
    assert os.getsid(pid) == pid != os.getsid(0)
    # Nothing nbrepro started stays in this process group: ipykernel waits, closing,
    # for every child in its group to go (multiprocessing's resource tracker never did).
    assert _in_our_group() <= before
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == os.devnull


def test_a_killed_worker_fails_its_jobs_and_is_replaced(worker: Worker, tmp_path: Path) -> None:
    worker.start()
    first = worker.pid()
    assert first is not None
    pending = worker.submit(_write_later, str(tmp_path / "never"), 30)
    os.kill(first, signal.SIGKILL)
    with pytest.raises(WorkerStopped, match=r"stopped \(exit code -9\)"):
        pending.result(30)
    assert worker.submit(pow, 2, 2).result(60) == 4
    assert worker.pid() not in (None, first)


def test_jobs_handed_over_run_after_the_kernel_lets_go(worker: Worker, tmp_path: Path) -> None:
    worker.start()
    pid = worker.pid()
    assert pid is not None
    marks = [tmp_path / f"job{i}" for i in range(3)]
    for mark in marks:
        worker.submit(_write_later, str(mark), 0.3)
    worker.close()  # as at the kernel's exit: no waiting for the jobs themselves
    assert not marks[-1].exists()
    assert process_gone(pid, 30), "the worker did not end after its last job"
    assert all(m.read_text("utf-8") == "done" for m in marks)
