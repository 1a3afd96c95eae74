"""Processes named across process lifetimes, and stopping a process tree.

A rerun job records which process owns it and which process runs it, so that
another process (the Jupyter server after a restart, a kernel's card) can tell
whether they still live. A pid alone can be reused; a pid with its start time
and host cannot be mistaken for another process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import psutil

# Start times are read from /proc in clock ticks: the same process always gives the
# same value; a reused pid gives another.
_SAME_START_S = 1.0


def identity(pid: int) -> dict[str, Any]:
    """``{"pid", "host", "started"}`` naming process ``pid`` for other processes."""
    try:
        started: float | None = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        started = None
    return {"pid": pid, "host": socket.gethostname(), "started": started}


def _process(ident: Mapping[str, Any]) -> psutil.Process | None:
    """The live process ``ident`` names, or None when it is gone (or a zombie)."""
    try:
        proc = psutil.Process(int(ident["pid"]))
        if ident.get("started") is not None and (
            abs(proc.create_time() - float(ident["started"])) > _SAME_START_S
        ):
            return None  # the pid was reused
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None  # ended; only its exit status waits to be collected
    except psutil.NoSuchProcess:
        return None
    return proc


def is_alive(ident: Mapping[str, Any] | None) -> bool | None:
    """Whether the process lives; None when it runs on another host (cannot tell)."""
    if not ident:
        return False
    if ident.get("host") != socket.gethostname():
        return None
    return _process(ident) is not None


def stop_group(ident: Mapping[str, Any], grace: float) -> None:
    """Stop the process group led by ``ident`` and every process it started.

    SIGTERM goes to the group first (``nbrepro rerun`` turns it into an interrupt,
    shuts its kernel down and ends its MLflow run as KILLED); whatever still lives
    after ``grace`` seconds, in the group or among its descendants (a kernel runs
    in a session of its own), gets SIGKILL. Returns at once; a daemon thread
    escalates. Never reaps: the owner's ``Popen.wait`` keeps the exit status.
    """
    leader = _process(ident)
    if leader is None:
        return
    try:
        tree = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = [leader]
    pgid = int(ident["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    threading.Thread(
        target=_kill_after, args=(pgid, tree, grace), name="nbrepro-stop", daemon=True
    ).start()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill_after(pgid: int, tree: list[psutil.Process], grace: float) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in tree):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for proc in tree:
        if _alive(proc):  # is_running() also guards against a reused pid
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
