"""Captures against a real `mlflow server` on 127.0.0.1, including the offline path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import all_artifact_text, latest_run, run_record

pytestmark = [pytest.mark.server, pytest.mark.kernel]


def test_capture_to_server(kernel_factory, mlflow_server, nbrepro_home: Path) -> None:
    k = kernel_factory(env={"MLFLOW_TRACKING_URI": mlflow_server.uri})
    k.ok("%load_ext nbrepro")
    k.ok("%%repro -e server-exp --name s1\nimport mlflow\nmlflow.log_metric('m', 1.5)")
    run = latest_run(mlflow_server.uri, "server-exp")
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"m": 1.5}
    rec = run_record(mlflow_server.uri, run.info.run_id)
    assert rec["run"]["tracking_uri"] == mlflow_server.uri
    # Nothing spooled (the HTML rendering may still be on its way, kept until logged).
    assert not list((nbrepro_home / "spool").glob("*/entry.json"))


def test_offline_capture_is_spooled_then_synced_once(
    kernel_factory, mlflow_server, nbrepro_home: Path, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    k = kernel_factory(env={"MLFLOW_TRACKING_URI": mlflow_server.uri})
    k.ok("%load_ext nbrepro")
    mlflow_server.stop()
    try:
        r = k.ok(
            "%%repro -e offline-exp --name away\nimport mlflow\n"
            "mlflow.log_param('lr', 0.1)\nmlflow.log_metric('loss', 0.25)\nprint('trained')"
        )
        assert "trained" in r.stdout
        warnings = [line for line in r.stderr.splitlines() if "nbrepro warning" in line]
        assert len(warnings) == 1, r.stderr
        assert "nbrepro sync" in warnings[0] and "unreachable" in warnings[0]
        spooled = list((nbrepro_home / "spool").glob("*/entry.json"))
        assert len(spooled) == 1
    finally:
        mlflow_server.start()

    env = {"NBREPRO_HOME": str(nbrepro_home), "MLFLOW_TRACKING_URI": mlflow_server.uri}
    cmd = [sys.executable, "-m", "nbrepro.cli", "sync"]
    first = subprocess.run(cmd, capture_output=True, text=True, env={**_env(), **env})
    assert first.returncode == 0, first.stderr
    assert "uploaded as run" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, env={**_env(), **env})
    assert second.returncode == 0 and "nothing to sync" in second.stdout

    client = MlflowClient(mlflow_server.uri)
    exp = client.get_experiment_by_name("offline-exp")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1  # no duplicate
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "away"
    assert run.data.params == {"lr": "0.1"}  # the user's own logs survived the outage
    assert run.data.metrics == {"loss": 0.25}
    rec = run_record(mlflow_server.uri, run.info.run_id)
    assert rec["run"]["run_id"] == run.info.run_id
    assert rec["run"]["offline"] is True
    files = all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "dl")
    for name in ("repro.json", "replay.ipynb", "history.py", "environment/requirements.txt"):
        assert f"nbrepro/{name}" in files


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_store_lost_during_the_cell_is_spooled_into_the_same_run(
    kernel_factory, mlflow_server, nbrepro_home: Path, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    k = kernel_factory(env={"MLFLOW_TRACKING_URI": mlflow_server.uri})
    k.ok("%load_ext nbrepro")
    assert mlflow_server.proc is not None
    pid = mlflow_server.proc.pid
    try:
        r = k.ok(
            "%%repro -e midway --name lost\nimport mlflow, os, signal, time, requests\n"
            "mlflow.log_metric('before', 1.0)\n"
            f"os.killpg({pid}, signal.SIGTERM)\n"
            "for _ in range(100):\n"
            "    try:\n"
            f"        requests.get('{mlflow_server.uri}/health', timeout=0.5)\n"
            "        time.sleep(0.2)\n"
            "    except requests.RequestException:\n"
            "        break\n"
            "print('body done')"
        )
        assert "body done" in r.stdout
        # Stored after the cell (the default): the failure is told on the card.
        assert "nbrepro warning" not in r.stderr, r.stderr
        notes = k.ok("print(get_ipython()._nbrepro_state.last_card.notes)").stdout
        assert "nbrepro sync" in notes, notes
    finally:
        if mlflow_server.proc is not None:
            mlflow_server.proc.wait(timeout=30)
            mlflow_server.proc = None
        mlflow_server.start()

    env = {**_env(), "NBREPRO_HOME": str(nbrepro_home), "MLFLOW_TRACKING_URI": mlflow_server.uri}
    res = subprocess.run(
        [sys.executable, "-m", "nbrepro.cli", "sync", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    client = MlflowClient(mlflow_server.uri)
    runs = client.search_runs([client.get_experiment_by_name("midway").experiment_id])
    assert len(runs) == 1  # completed in place, not duplicated
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"before": 1.0}
    assert run.data.tags["nbrepro.mode"] == "magic"
    files = all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "dl")
    assert "nbrepro/repro.json" in files and "nbrepro/replay.ipynb" in files
