"""A local Spark Connect server (Sail, PyPI ``pysail``) for the demo and the tests.

Sail runs in its own process: a notebook's kernel and nbrepro's reruns connect to it as to
any cluster, and stopping it never waits on a client.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nbrepro.errors import NbreproError

_SERVE = """
import sys, time
from pysail.spark import SparkConnectServer
server = SparkConnectServer(ip="127.0.0.1", port=int(sys.argv[1]))
server.start(background=True)
print("ready", flush=True)
sys.stdin.read()  # until the parent closes it (or dies)
server.stop()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SailServer:
    """Sail on 127.0.0.1; ``remote`` is the address clients pass to ``builder.remote``.

    Args:
        cwd: The server's working directory: Sail resolves relative table paths there.
        log: Where the server's own log goes (default: discarded).
    """

    def __init__(self, cwd: Path, log: Path | None = None) -> None:
        self.cwd = cwd
        self.log = log
        self.port = _free_port()
        self.remote = f"sc://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60) -> SailServer:
        try:
            import pysail  # noqa: F401
        except ImportError:
            raise NbreproError(
                "Spark needs the spark extra: pip install 'nbrepro[spark]' (pysail, pyspark-client)"
            ) from None
        out = open(self.log, "a") if self.log else subprocess.DEVNULL  # noqa: SIM115
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "error")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(self.port)],
            cwd=self.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        # "ready" once listening; an empty line if the process ended first.
        if "ready" in self.proc.stdout.readline():
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.05)
        self.stop()
        raise NbreproError("the local Spark Connect server (Sail) did not start")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> SailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
