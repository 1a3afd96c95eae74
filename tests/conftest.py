"""Shared fixtures: an isolated nbrepro home, a real kernel, a real `mlflow server`, and the
team stack (PostgreSQL, S3 on moto, mlflow servers on both)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbrepro.testing import Kernel, MlflowServer
from nbrepro.testing_team import PostgresCluster, S3Server


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
        # Settled: a capture's run is stored before the test reads it (the cell itself
        # returns first, as in JupyterLab; tests/test_store_after_cell.py sees that).
        k = Kernel(cwd or tmp_path, kernel_env(env), settle=True)
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


# --- the team stack: PostgreSQL, S3 on moto, mlflow servers on both --------------------

ARTIFACT_BUCKET = "mlflow"
LAKE_BUCKET = "lake"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster on 127.0.0.1."""
    cluster = PostgresCluster(tmp_path_factory.mktemp("postgres")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3-compatible store (moto) with the buckets ``mlflow`` and ``lake``."""
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    try:
        for bucket in (ARTIFACT_BUCKET, LAKE_BUCKET):
            server.create_bucket(bucket)
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def team_server(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster, s3: S3Server
) -> Iterator[MlflowServer]:
    """`mlflow server` on PostgreSQL, serving artifacts it keeps in ``s3://mlflow/``: its
    clients need no S3 access."""
    server = MlflowServer(
        tmp_path_factory.mktemp("team-server"),
        backend_store_uri=postgres.create_database("mlflow"),
        artifacts_destination=f"s3://{ARTIFACT_BUCKET}/",
        env=s3.env(),
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def team_server_direct(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster, s3: S3Server
) -> Iterator[MlflowServer]:
    """`mlflow server` on PostgreSQL that does not serve artifacts: its clients upload
    straight to ``s3://mlflow/direct`` and need the S3 variables (``s3.env()``)."""
    server = MlflowServer(
        tmp_path_factory.mktemp("team-server-direct"),
        # Its own database: an experiment keeps the artifact root of the server that made
        # it, and the other server's `mlflow-artifacts:` root means nothing here.
        backend_store_uri=postgres.create_database("mlflow_direct"),
        default_artifact_root=f"s3://{ARTIFACT_BUCKET}/direct",
        serve_artifacts=False,
        env=s3.env(),
    ).start()
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
