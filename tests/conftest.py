"""Shared fixtures: an isolated nbrepro home, a real kernel, a real `mlflow server`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbrepro.testing import Kernel, MlflowServer


@pytest.fixture(scope="session", autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep Jupyter, IPython and nbrepro out of $HOME for the whole session."""
    root = tmp_path_factory.mktemp("homes")
    saved = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        os.environ[name] = str(root / name.lower())
    os.environ["NBREPRO_HOME"] = str(root / "nbrepro-home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
    os.environ.pop("MLFLOW_RUN_ID", None)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1"
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def nbrepro_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh nbrepro home (store and spool) for one test."""
    home = tmp_path / "nbrepro-home"
    monkeypatch.setenv("NBREPRO_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


# --- real parts ----------------------------------------------------------------------


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    return env


@pytest.fixture
def kernel_factory(tmp_path: Path) -> Iterator[Any]:
    """Start real kernels; each is shut down at the end of the test."""
    started: list[Kernel] = []

    def start(cwd: Path | None = None, env: dict[str, str] | None = None) -> Kernel:
        k = Kernel(cwd or tmp_path, kernel_env(env))
        started.append(k)
        return k

    yield start
    for k in started:
        k.shutdown()


def new_cell_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Spark Connect server (Sail) on 127.0.0.1, in its own process."""
    from nbrepro.cli.sail import SailServer

    root = tmp_path_factory.mktemp("sail")
    server = SailServer(root, log=root / "sail.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark(sail: Any) -> Iterator[Any]:
    """A Spark Connect session in the test process, stopped before the server."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(sail.remote).getOrCreate()
    yield session
    session.stop()
