"""The team stack is real: runs land in PostgreSQL, artifacts and Delta tables in S3 (moto),
and a stopped server leaves no process behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import psutil
import pyarrow as pa
import pytest
import requests
from deltalake import DeltaTable, write_deltalake
from mlflow import MlflowClient

from nbrepro.testing import MlflowServer
from nbrepro.testing_team import PostgresCluster, S3Server

pytestmark = [pytest.mark.team, pytest.mark.server]

NOTE = b"a small artifact\n"


def _log_a_run(uri: str, tmp_path: Path) -> tuple[str, str, str]:
    """A run with a param and a small artifact; returns (experiment id, run id, artifact uri)."""
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(f"stack-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    note = tmp_path / "note.txt"
    note.write_bytes(NOTE)
    client.log_artifact(run_id, str(note))
    client.set_terminated(run_id)
    assert client.get_run(run_id).data.params == {"alpha": "0.5"}
    return experiment_id, run_id, run.info.artifact_uri


def _alive(process: psutil.Process) -> bool:
    try:
        # A zombie only waits for init to reap it.
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _without_s3_access(monkeypatch: pytest.MonkeyPatch, s3: S3Server) -> None:
    for name in s3.env():
        monkeypatch.delenv(name, raising=False)


def test_served_artifacts_are_stored_in_the_bucket(
    team_server: MlflowServer, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_s3_access(monkeypatch, s3)  # the server uploads, not the client
    experiment_id, run_id, artifact_uri = _log_a_run(team_server.uri, tmp_path)
    assert artifact_uri.startswith("mlflow-artifacts:/")
    key = f"{experiment_id}/{run_id}/artifacts/note.txt"
    assert ("mlflow", key, NOTE) in s3.all_objects()
    assert not (team_server.root / "artifacts").exists()


def test_clients_upload_straight_to_the_bucket_when_the_server_serves_none(
    team_server_direct: MlflowServer,
    s3: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    experiment_id, run_id, artifact_uri = _log_a_run(team_server_direct.uri, tmp_path)
    assert artifact_uri == f"s3://mlflow/direct/{experiment_id}/{run_id}/artifacts"
    key = f"direct/{experiment_id}/{run_id}/artifacts/note.txt"
    assert ("mlflow", key, NOTE) in s3.all_objects()
    log = (team_server_direct.root / "server.log").read_text()
    assert "mlflow-artifacts" not in log  # no artifact went through the server


def test_runs_are_rows_in_postgres(
    team_server: MlflowServer, postgres: PostgresCluster, tmp_path: Path
) -> None:
    _, run_id, _ = _log_a_run(team_server.uri, tmp_path)
    assert run_id in postgres.dump("mlflow")
    assert not (team_server.root / "server.db").exists()


def test_postgres_checks_passwords(postgres: PostgresCluster) -> None:
    import psycopg2

    postgres.create_database("pw_check", user="pw_checker")

    def connect(password: str) -> None:
        psycopg2.connect(
            host="127.0.0.1",
            port=postgres.port,
            user="pw_checker",
            password=password,
            dbname="pw_check",
            connect_timeout=10,
        ).close()

    connect(postgres.passwords["pw_checker"])
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        connect("not-the-password")


def test_a_delta_table_on_s3_keeps_its_versions(s3: S3Server) -> None:
    table = f"s3://lake/stack-{uuid.uuid4().hex[:8]}"
    options = s3.storage_options()
    write_deltalake(table, pa.table({"x": [1, 2]}), storage_options=options)
    write_deltalake(table, pa.table({"x": [3]}), mode="append", storage_options=options)
    assert DeltaTable(table, storage_options=options).version() == 1
    first = DeltaTable(table, version=0, storage_options=options).to_pyarrow_table()
    second = DeltaTable(table, version=1, storage_options=options).to_pyarrow_table()
    assert sorted(first.column("x").to_pylist()) == [1, 2]
    assert sorted(second.column("x").to_pylist()) == [1, 2, 3]
    name = table.removeprefix("s3://lake/")
    keys = {key for bucket, key, _ in s3.all_objects() if bucket == "lake"}
    assert f"{name}/_delta_log/00000000000000000001.json" in keys


def test_a_stopped_server_leaves_no_process(
    postgres: PostgresCluster, s3: S3Server, tmp_path: Path
) -> None:
    server = MlflowServer(
        tmp_path / "server",
        backend_store_uri=postgres.create_database("mlflow_stop"),
        artifacts_destination="s3://mlflow/stop",
        env=s3.env(),
    ).start()
    try:
        family = server.processes()
        # The `mlflow server` command and its uvicorn worker.
        assert len(family) >= 2, [p.cmdline() for p in family]
        assert any("uvicorn" in " ".join(p.cmdline()) for p in family)
    finally:
        server.stop()
    assert [p.pid for p in family if _alive(p)] == []
    with pytest.raises(requests.ConnectionError):
        requests.get(server.uri + "/health", timeout=5)
