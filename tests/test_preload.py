"""A kernel's life around captures: the preparation after ``%load_ext`` (kernel/preload.py),
Kernel > Interrupt at any moment of a capture, and the kernel closing."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import WAIT_UPLOADS, all_artifact_text

pytestmark = pytest.mark.kernel

HTML = "nbrepro/notebook.html"


def _runs(uri: str, experiment: str) -> list[Any]:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    return list(client.search_runs([exp.experiment_id], order_by=["start_time ASC"]))


def _profile(root: Path, preload: bool) -> dict[str, str]:
    """An IPython profile setting ReproMagics.preload, as a user would."""
    profile = root / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(
        f"c.ReproMagics.preload = {preload}\n", "utf-8"
    )
    return {"IPYTHONDIR": str(root / "ipython")}


def _interrupt_after(k: Any, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, k.km.interrupt_kernel)
    timer.start()
    return timer


def test_load_ext_leaves_the_first_capture_ready(kernel_factory, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = kernel_factory(env={"MLFLOW_TRACKING_URI": uri, "NBREPRO_HOME": str(tmp_path / "h")})
    k.ok("%load_ext nbrepro")
    # The preparation runs in a thread: MLflow imported and the store made, meanwhile.
    k.ok(
        "import sys, threading, time\n"
        "for _ in range(600):\n"
        "    if not any(t.name == 'nbrepro-preload' for t in threading.enumerate()): break\n"
        "    time.sleep(0.1)\n"
        "assert 'mlflow' in sys.modules and 'nbrepro.capture.assemble' in sys.modules"
    )
    # A store not made yet is left to the first capture: MLflow creating its schema
    # while the user's own mlflow calls do the same would fail one of them.
    assert not (tmp_path / "store" / "mlflow.db").exists()
    r = k.ok("%%repro -e ready\nx = 1")
    assert "nbrepro warning" not in r.stderr, r.stderr


def test_preload_can_be_turned_off_in_the_profile(kernel_factory, tmp_path: Path) -> None:
    env = {"NBREPRO_HOME": str(tmp_path / "h"), **_profile(tmp_path, False)}
    k = kernel_factory(env=env)
    k.ok("%load_ext nbrepro")
    r = k.ok(
        "import sys, threading, time\n"
        "time.sleep(1)\n"
        "print(sorted(m for m in ('mlflow', 'papermill') if m in sys.modules),\n"
        "      [t.name for t in threading.enumerate() if t.name == 'nbrepro-preload'])"
    )
    assert r.stdout.strip() == "[] []"


def test_an_interrupt_during_the_first_captures_start_breaks_nothing(
    kernel_factory, tmp_path: Path
) -> None:
    """Without preparation, the first capture imports MLflow and makes the store in the
    cell: an interrupt there used to leave MLflow half imported ('partially initialized
    module') and every later capture failed."""
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri, "NBREPRO_HOME": str(tmp_path / "h")}
    k = kernel_factory(env={**env, **_profile(tmp_path, False)})
    k.ok("%load_ext nbrepro")
    _interrupt_after(k, 0.5)
    r = k.execute("%%repro -e interrupted --name first\nopen('body-ran', 'w').close()")
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt"
    assert "interrupted before the cell's code ran" in r.content["evalue"]
    assert not (tmp_path / "body-ran").exists()
    for name in ("second", "third"):
        r = k.ok(f"%%repro -e interrupted --name {name}\nx = 1")
        assert "nbrepro warning" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    k.ok(WAIT_UPLOADS)
    runs = _runs(uri, "interrupted")
    assert [(run.info.run_name, run.info.status) for run in runs] == [
        ("first", "KILLED"),
        ("second", "FINISHED"),
        ("third", "FINISHED"),
    ]
    # None nested under the interrupted one: it left MLflow's active-run stack.
    assert not any("mlflow.parentRunId" in run.data.tags for run in runs)


def test_an_interrupt_in_the_body_leaves_the_worker_and_later_captures_whole(
    kernel_factory, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = kernel_factory(env={"MLFLOW_TRACKING_URI": uri, "NBREPRO_HOME": str(tmp_path / "h")})
    k.ok("%load_ext nbrepro")
    k.ok("%%repro -e body --name warm\nx = 1")
    k.ok(WAIT_UPLOADS)
    worker = int(k.ok("from nbrepro.store import tracking as _t\nprint(_t.WORKER.pid())").stdout)
    # Kernel > Interrupt signals the kernel's whole process group.
    _interrupt_after(k, 1.0)
    r = k.execute(
        "%%repro -e body --name stopped\nimport time\nfor _ in range(300): time.sleep(0.1)"
    )
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt"
    # Interrupted while nothing runs: the kernel's handler, not nbrepro's, is in place.
    _interrupt_after(k, 0.5)
    r = k.execute("import time\nfor _ in range(300): time.sleep(0.1)")
    assert r.content["ename"] == "KeyboardInterrupt"
    r = k.ok("%%repro -e body --name after\ny = 2")
    assert "nbrepro warning" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    k.ok(WAIT_UPLOADS)
    assert int(k.ok("print(_t.WORKER.pid())").stdout) == worker
    runs = _runs(uri, "body")
    assert [(run.info.run_name, run.info.status) for run in runs] == [
        ("warm", "FINISHED"),
        ("stopped", "KILLED"),
        ("after", "FINISHED"),
    ]
    for run in runs:
        assert HTML in all_artifact_text(uri, run.info.run_id, tmp_path / run.info.run_name)


def test_a_kernel_closes_on_its_own_after_captures(kernel_factory, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = kernel_factory(env={"MLFLOW_TRACKING_URI": uri, "NBREPRO_HOME": str(tmp_path / "h")})
    k.ok("%load_ext nbrepro")
    r = k.ok("%%repro -e closing\nx = 1")
    k.ok(WAIT_UPLOADS)
    kernel = k.km.provisioner.process
    group = os.getpgid(kernel.pid)
    helpers = [
        p for p in psutil.Process(kernel.pid).children(recursive=True) if os.getpgid(p.pid) == group
    ]
    # ipykernel, closing, signals each child in its process group and waits for it.
    assert helpers == [], [p.cmdline() for p in helpers]
    k.kc.stop_channels()
    k.km.shutdown_kernel(now=False)
    # 0: it exited by itself; jupyter_client's SIGTERM or SIGKILL would show as -15, -9.
    assert kernel.wait(30) == 0
    assert "Traceback" not in r.stderr


def test_waiting_for_the_imports_stops_when_the_user_interrupts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from nbrepro.kernel import preload as module

    never = threading.Event()
    # Imports that never end (a hung network filesystem): an interrupt still gets through.
    monkeypatch.setattr(
        module, "importlib", types.SimpleNamespace(import_module=lambda _name: never.wait(30))
    )
    preload = module.Preload()
    preload.start(None, card=False)
    asked: list[int] = []

    def give_up() -> bool:
        asked.append(1)
        return len(asked) > 2

    assert preload.wait_for_imports(give_up) is False
    assert len(asked) == 3
    never.set()
