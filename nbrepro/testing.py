"""Real parts for tests and benchmarks: a kernel driven like JupyterLab, an `mlflow server`.

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

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def execute(self, code: str, cell_id: str | None = None, timeout: float = 120) -> Reply:
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
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


class MlflowServer:
    """`mlflow server` on 127.0.0.1 with a SQLite store; can be stopped and restarted."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        import requests

        self.root.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.root / 'server.db'}",
                "--artifacts-destination",
                str(self.root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "server.log").read_text()[-3000:])
            try:
                if requests.get(self.uri + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("mlflow server did not start in time")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
