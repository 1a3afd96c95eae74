"""Real parts for tests and benchmarks: a kernel driven like JupyterLab, an `mlflow server`
(the team deployment's PostgreSQL and S3 store: :mod:`nbrepro.testing_team`).

Used by nbrepro's own test suite and benchmarks; also handy for testing notebooks
that use nbrepro.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil


@dataclass
class Reply:
    status: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    content: dict[str, Any] = field(default_factory=dict)

    @property
    def stdout(self) -> str:
        return "".join(o.get("text", "") for o in self.outputs if o.get("name") == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(o.get("text", "") for o in self.outputs if o.get("name") == "stderr")

    def text(self) -> str:
        parts = []
        for o in self.outputs:
            if "text" in o:
                parts.append(o["text"])
            elif "data" in o:
                parts.append(o["data"].get("text/plain", ""))
            elif "traceback" in o:
                parts.append("\n".join(o["traceback"]))
        return "\n".join(parts)


class Kernel:
    """A real ipykernel driven through jupyter_client, sending cell ids like JupyterLab."""

    # A cell that captures returns before its run is stored (ReproMagics.store_after_cell):
    # with ``settle``, :meth:`execute` then waits, in a silent request (no history, no
    # cell events), until the kernel's background stores and uploads are done, so
    # what a test reads next is in the store.
    SETTLE = (
        "__import__('nbrepro.store.tracking', fromlist=['wait_for_uploads']).wait_for_uploads(120)"
    )

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        connection_file: Path | None = None,
        settle: bool = False,
    ) -> None:
        from jupyter_client.manager import KernelManager

        self.settle = settle
        self.km = KernelManager(kernel_name="python3")
        if connection_file is not None:  # where Jupyter's own servers put it, say
            self.km.connection_file = str(connection_file)
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def execute(self, code: str, cell_id: str | None = None, timeout: float = 120) -> Reply:
        reply = self._execute(code, cell_id, timeout, silent=False)
        if self.settle and "repro" in code:
            settled = self._execute(self.SETTLE, None, timeout, silent=True)
            # Not imported (a kernel without nbrepro): nothing to wait for.
            failed = settled.content.get("ename"), settled.content.get("evalue")
            if settled.status != "ok" and failed[0] != "ModuleNotFoundError":
                raise AssertionError(f"settling after the cell failed: {failed}")
        return reply

    def _execute(self, code: str, cell_id: str | None, timeout: float, silent: bool) -> Reply:
        content = {
            "code": code,
            "silent": silent,
            "store_history": not silent,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        msg = self.kc.session.msg(
            "execute_request", content, metadata={"cellId": cell_id} if cell_id else {}
        )
        self.kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        reply = Reply(status="")
        deadline = time.time() + timeout
        while True:
            m = self.kc.get_iopub_msg(timeout=max(1.0, deadline - time.time()))
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            kind = m["msg_type"]
            if kind == "status" and m["content"]["execution_state"] == "idle":
                break
            if kind == "stream":
                reply.outputs.append({"name": m["content"]["name"], "text": m["content"]["text"]})
            elif kind in ("execute_result", "display_data"):
                reply.outputs.append({"data": m["content"]["data"]})
            elif kind == "error":
                reply.outputs.append(
                    {"ename": m["content"]["ename"], "traceback": m["content"]["traceback"]}
                )
        while True:
            shell = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.time()))
            if shell["parent_header"].get("msg_id") == msg_id:
                break
        reply.content = shell["content"]
        reply.status = shell["content"]["status"]
        return reply

    def ok(self, code: str, cell_id: str | None = None) -> Reply:
        r = self.execute(code, cell_id)
        assert r.status == "ok", r.text()
        return r

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(
    cmd: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a process group of its own, its output appended to ``log_path``."""
    log = open(log_path, "ab")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def wait_until_up(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    """Whether ``url`` answered 2xx within ``timeout`` while ``proc`` kept running."""
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if requests.get(url, timeout=1).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def stop_group(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM the process group of ``proc``, SIGKILL it after ``grace`` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class MlflowServer:
    """`mlflow server` on 127.0.0.1; can be stopped and restarted.

    By default it keeps runs in a SQLite file and artifacts in a folder under ``root``,
    and serves the artifacts. A team deployment passes a PostgreSQL ``backend_store_uri``
    and an ``s3://`` ``artifacts_destination``, or ``serve_artifacts=False`` with an
    ``s3://`` ``default_artifact_root`` (clients then upload straight to S3), and the S3
    client variables in ``env``.
    """

    def __init__(
        self,
        root: Path,
        *,
        backend_store_uri: str | None = None,
        artifacts_destination: str | None = None,
        default_artifact_root: str | None = None,
        serve_artifacts: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        if serve_artifacts and default_artifact_root is not None:
            raise ValueError("default_artifact_root is for serve_artifacts=False")
        if not serve_artifacts and artifacts_destination is not None:
            raise ValueError("artifacts_destination is for serve_artifacts=True")
        self.root = root
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.backend_store_uri = backend_store_uri or f"sqlite:///{root / 'server.db'}"
        self.serve_artifacts = serve_artifacts
        self.artifacts_destination = artifacts_destination or str(root / "artifacts")
        self.default_artifact_root = default_artifact_root or str(root / "artifacts")
        self.env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "mlflow", "server"]
        if self.serve_artifacts:
            cmd += ["--artifacts-destination", self.artifacts_destination]
        else:
            cmd += ["--no-serve-artifacts", "--default-artifact-root", self.default_artifact_root]
        return [*cmd, "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]

    def start(self, timeout: float = 120) -> MlflowServer:

        self.root.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(self.env)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        # The store URI may hold a database password: through the environment (mlflow's
        # own variable for the option) it stays out of every process's command line.
        env["MLFLOW_BACKEND_STORE_URI"] = self.backend_store_uri
        self.proc = spawn(self._command(), self.root / "server.log", env)
        if not wait_until_up(self.proc, self.uri + "/health", timeout):
            self.stop()  # what it had started in its group goes with it
            raise RuntimeError(
                "mlflow server did not start: " + (self.root / "server.log").read_text()[-3000:]
            )
        return self

    def processes(self) -> list[psutil.Process]:
        """The server process and all its descendants (the uvicorn or gunicorn workers)."""
        if self.proc is None:
            return []
        try:
            top = psutil.Process(self.proc.pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc is None:
            return
        # Taken before the kill: a worker that left the process group would outlive it.
        family = self.processes()
        stop_group(self.proc, grace=20)
        self.proc = None
        _, alive = psutil.wait_procs(family, timeout=10)
        for leftover in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()
        psutil.wait_procs(alive, timeout=10)


class StoreProxy:
    """An HTTP proxy on 127.0.0.1 in front of a tracking server, that a test (or the
    code under test, by requesting ``/__nbrepro_hang``) turns into a server that accepts
    connections and never answers."""

    HANG_PATH = "/__nbrepro_hang"

    def __init__(self, target: str, hang: bool = False, fail_paths: tuple[str, ...] = ()) -> None:
        import threading

        self.target = target.rstrip("/")
        self.hang = hang
        # Requests whose path contains one of these are answered 503.
        self.fail_paths = fail_paths
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self._release = threading.Event()
        self._server: Any = None

    def start(self) -> StoreProxy:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                if self.path == proxy.HANG_PATH:
                    proxy.hang = True
                    self._answer(200, b"hanging from now on", {})
                    return
                if proxy.hang:
                    proxy._release.wait(600)
                    self.close_connection = True
                    return
                if any(part in self.path for part in proxy.fail_paths):
                    self._answer(503, b"failing on purpose", {})
                    return
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                try:
                    resp = requests.request(
                        self.command,
                        proxy.target + self.path,
                        data=body,
                        headers=headers,
                        timeout=60,
                        allow_redirects=False,
                    )
                except requests.RequestException as exc:  # the server behind is gone
                    self._answer(502, str(exc).encode(), {})
                    return
                self._answer(resp.status_code, resp.content, dict(resp.headers))

            def _answer(self, status: int, content: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                skip = ("content-length", "transfer-encoding", "connection", "content-encoding")
                for k, v in headers.items():
                    if k.lower() not in skip:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def answer_again(self) -> None:
        """End the hang: requests waiting are dropped, new ones are forwarded."""
        import threading

        self.hang = False
        released, self._release = self._release, threading.Event()
        released.set()

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def held_by_capture(kernel: Kernel, cell: str, timeout: float = 900) -> tuple[Reply, float]:
    """Run a ``%%repro`` cell and measure how long the capture held it: the cell's
    time less its body's. Returns the reply and the seconds held."""
    magic, _, body = cell.partition("\n")
    timed = (
        f"{magic}\nimport time as _nbrepro_t\nprint('BODY_START', _nbrepro_t.time())\n"
        f"{body}\nprint('BODY_END', _nbrepro_t.time())"
    )
    sent = time.time()
    reply = kernel.execute(timed, timeout=timeout)
    returned = time.time()
    marks = dict(
        line.split()[:2]
        for line in reply.stdout.splitlines()
        if line.startswith(("BODY_START", "BODY_END"))
    )
    body_time = float(marks["BODY_END"]) - float(marks["BODY_START"])
    return reply, (returned - sent) - body_time
