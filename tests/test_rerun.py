"""`nbrepro rerun`, `diff`, `show`, `list` end to end: the wine scenario on real parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable, write_deltalake
from helpers import api_check, latest_run, nbrepro_cli, rerun_json, write_notebook

from nbrepro import paths

pytestmark = pytest.mark.kernel

TRAIN = """%%repro --name wine-rf --seed 0
import mlflow
import numpy as np
from deltalake import DeltaTable
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

df = DeltaTable(TABLE).to_pandas()
X, y = df.drop(columns=["target"]), df["target"]
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)
model = RandomForestRegressor(n_estimators=30, random_state=0).fit(X_tr, y_tr)
pred = model.predict(X_te)
rmse = float(np.sqrt(mean_squared_error(y_te, pred)))
mlflow.log_param("n_estimators", 30)
mlflow.log_metrics({"rmse": rmse, "mae": float(mean_absolute_error(y_te, pred)),
                    "r2": float(r2_score(y_te, pred))})
print(f"rows={len(df)} rmse={rmse:.6f}")"""


@pytest.fixture
def wine(tmp_path: Path) -> Path:
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True).frame
    table = tmp_path / "lake" / "wine"
    write_deltalake(str(table), data)  # version 0
    return table


def nightly_update(table: Path) -> None:
    df = DeltaTable(str(table)).to_pandas().sample(40, random_state=1).reset_index(drop=True)
    df["target"] = (df["target"] + 1) % 3
    write_deltalake(str(table), df, mode="append")  # version 1


@pytest.fixture
def captured(kernel_factory, tmp_path: Path, wine: Path, nbrepro_home: Path) -> str:
    nb = write_notebook(
        tmp_path / "wine.ipynb",
        [("l", "%load_ext nbrepro"), ("t", f"TABLE = {str(wine)!r}"), ("train", TRAIN)],
    )
    k = kernel_factory(cwd=tmp_path, env={"JPY_SESSION_NAME": str(nb)})
    k.ok("%load_ext nbrepro", "l")
    k.ok(f"TABLE = {str(wine)!r}", "t")
    assert "rows=178" in k.ok(TRAIN, "train").stdout
    return str(latest_run(paths.default_tracking_uri()).info.run_id)


def test_pinned_rerun_reproduces_after_the_nightly_update(captured: str, wine: Path) -> None:
    from mlflow import MlflowClient

    nightly_update(wine)
    code, report = rerun_json(captured)
    assert code == 0, json.dumps(report["sections"]["outputs"], indent=1)
    assert report["verdict"] == "reproduced"
    assert report["reproduces"] == captured
    data = report["sections"]["data"]
    assert data["same"] and data["tables"][0]["rerun"][0]["version"] == 0
    assert report["sections"]["metrics"]["same"]
    assert report["sections"]["outputs"]["same"] and report["sections"]["outputs"]["compared"] >= 1
    assert report["pins"] == {
        str(wine): {"version": 0, "table_id": report["pins"][str(wine)]["table_id"]}
    }

    client = MlflowClient(paths.default_tracking_uri())
    new = client.get_run(report["run_id"])
    assert new.data.tags["nbrepro.reproduces"] == captured
    assert new.data.tags["nbrepro.verdict"] == "reproduced"
    assert new.info.experiment_id == client.get_run(captured).info.experiment_id
    assert client.get_run(captured).data.tags["nbrepro.last_verdict"] == "reproduced"
    listed = {f.path for f in client.list_artifacts(new.info.run_id, "nbrepro")}
    assert {"nbrepro/report.json", "nbrepro/report.txt", "nbrepro/repro.json"} <= listed
    # The pin is visible in the executed notebook, as papermill shows its parameters.
    doc = client.download_artifacts(new.info.run_id, "nbrepro/repro.json")
    rec = json.loads(Path(doc).read_text())
    assert rec["run"]["reproduces"] == captured
    assert [r["version"] for r in rec["data"]["reads"]] == [0]
    assert rec["data"]["reads"][0]["pinned_by_nbrepro"] is True


def test_latest_data_differs_and_names_data_and_metrics(captured: str, wine: Path) -> None:
    nightly_update(wine)
    code, report = rerun_json(captured, "--data", "latest")
    assert code == 1
    assert api_check(report, "Report")["verdict"] == "differs"
    assert report["differs"][0] == "data" and "metrics" in report["differs"]
    table = report["sections"]["data"]["tables"][0]
    assert table["note"] == "moved: v0 -> v1"
    moved = {r["name"] for r in report["sections"]["metrics"]["values"] if not r["same"]}
    assert moved & {"rmse", "mae", "r2"}
    text = nbrepro_cli("rerun", captured, "--data", "latest")
    assert text.returncode == 1
    assert "Verdict: DIFFERS (data" in text.stdout and "moved: v0 -> v1" in text.stdout


def test_vacuumed_version_stops_with_the_way_out(captured: str, wine: Path) -> None:
    write_deltalake(
        str(wine),
        DeltaTable(str(wine)).to_pandas().head(10).reset_index(drop=True),
        mode="overwrite",
    )
    DeltaTable(str(wine)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    res = nbrepro_cli("rerun", captured)
    assert res.returncode == 2
    assert str(wine) in res.stderr and "version 0" in res.stderr
    assert "--data latest" in res.stderr
    assert "Traceback" not in res.stderr


def test_diff_show_and_list(captured: str, wine: Path) -> None:
    nightly_update(wine)
    _, report = rerun_json(captured, "--data", "latest")
    res = nbrepro_cli("diff", captured, report["run_id"], "--json")
    assert res.returncode == 1
    assert json.loads(res.stdout)["differs"][0] == "data"
    same = nbrepro_cli("diff", captured, captured)
    assert same.returncode == 0 and "Verdict: REPRODUCED" in same.stdout
    shown = nbrepro_cli("show", captured)
    assert shown.returncode == 0
    assert "@ v0" in shown.stdout and "rmse=" in shown.stdout and "differs" in shown.stdout
    listed = json.loads(nbrepro_cli("list", "--json").stdout)
    assert [r["run_id"] for r in listed] == [report["run_id"], captured]
    assert listed[1]["verdict"] == "differs" and listed[0]["reproduces"] == captured
    text = nbrepro_cli("list").stdout
    assert "rerun of" in text


def test_out_of_order_session_reproduces_executed_order(
    kernel_factory, tmp_path: Path, nbrepro_home: Path
) -> None:
    nb = write_notebook(
        tmp_path / "ooo.ipynb",
        [
            ("l", "%load_ext nbrepro"),
            ("a", "a = 2"),
            ("b", "b = a * 10"),
            ("c", "%%repro\nimport mlflow\nmlflow.log_metric('b', b)"),
        ],
    )
    k = kernel_factory(cwd=tmp_path, env={"JPY_SESSION_NAME": str(nb)})
    k.ok("%load_ext nbrepro", "l")
    k.ok("a = 1", "a")
    k.ok("b = a * 10", "b")
    k.ok("a = 2", "a")
    k.ok("%%repro\nimport mlflow\nmlflow.log_metric('b', b)", "c")
    run_id = latest_run(paths.default_tracking_uri()).info.run_id
    code, report = rerun_json(run_id)
    assert code == 0 and report["verdict"] == "reproduced"
    assert report["sections"]["metrics"]["values"][0]["rerun"] == 10.0  # not 20
    assert any("hidden state" in n for n in report["notes"])


def test_a_set_of_strings_replays_once_the_hash_seed_is_fixed(
    kernel_factory, tmp_path: Path, nbrepro_home: Path
) -> None:
    """A Jupyter kernel hashes strings at random: a set's order is not its original's in
    the rerun, and the report says why. The rerun ran with a fixed seed, recorded: a
    rerun of it restores that seed, and the order replays."""
    words = [f"w{i:02d}-{c}" for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")]
    cell = f"%%repro\nprint(set({words!r}))"
    nb = write_notebook(tmp_path / "sets.ipynb", [("l", "%load_ext nbrepro"), ("c", cell)])
    # As JupyterLab starts a kernel: hashing at random.
    k = kernel_factory(cwd=tmp_path, env={"JPY_SESSION_NAME": str(nb), "PYTHONHASHSEED": "random"})
    k.ok("%load_ext nbrepro", "l")
    k.ok(cell, "c")
    store = paths.default_tracking_uri()
    original = latest_run(store).info.run_id
    code, report = rerun_json(original)
    assert code == 1 and report["verdict"] == "differs", report["notes"]
    assert report["differs"] == ["outputs"]
    assert any("String hashing was randomized in the original" in n for n in report["notes"])

    from helpers import run_record

    rerun_id = report["rerun"]
    assert run_record(store, original)["environment"]["python"]["hash_seed"] == {
        "fixed": False,
        "seed": None,
    }
    seed = run_record(store, rerun_id)["environment"]["python"]["hash_seed"]
    assert seed == {"fixed": True, "seed": "0"}
    code, again = rerun_json(rerun_id)
    assert code == 0 and again["verdict"] == "reproduced", again["differs"]
    assert not any("hash" in n for n in again["notes"])


def test_bad_inputs_are_clear(captured: str, tmp_path: Path) -> None:
    import mlflow

    uri = paths.default_tracking_uri()
    res = nbrepro_cli("rerun", "0" * 32)
    assert res.returncode == 2 and uri in res.stderr and "no run" in res.stderr
    res = nbrepro_cli("rerun", "not-a-run")
    assert res.returncode == 2 and "not an MLflow run id" in res.stderr
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as plain:
        mlflow.log_metric("x", 1)
    res = nbrepro_cli("show", plain.info.run_id)
    assert res.returncode == 2 and "not captured by nbrepro" in res.stderr
    res = nbrepro_cli("rerun", captured, "--tolerance", "rmse=abc")
    assert res.returncode == 2
    for stderr in (r.stderr for r in [res]):
        assert "Traceback" not in stderr


def test_rerun_that_raises_is_failed_with_the_cell(
    kernel_factory, tmp_path: Path, nbrepro_home: Path
) -> None:
    marker = tmp_path / "needed.txt"
    marker.write_text("1")
    cell = f"%%repro\nimport mlflow\nmlflow.log_metric('v', float(open({str(marker)!r}).read()))"
    k = kernel_factory(cwd=tmp_path)
    k.ok("%load_ext nbrepro")
    k.ok(cell)
    run_id = latest_run(paths.default_tracking_uri()).info.run_id
    marker.unlink()
    code, report = rerun_json(run_id)
    assert code == 3
    assert api_check(report, "Report")["verdict"] == "failed"
    assert report["failure"]["ename"] == "FileNotFoundError"


def test_recorded_environment_is_rebuilt_with_uv_then_reused(captured: str) -> None:
    code, report = rerun_json(captured, "--env", "recorded")
    assert code == 0, report.get("failure") or report["differs"]
    assert report["verdict"] == "reproduced"
    build = report["environment_build"]
    assert build["reused"] is False and build["kernel_name"].startswith("nbrepro-")
    assert (Path(build["path"]) / ".complete").exists()
    # The rerun's kernel ran in the rebuilt environment, not in this one.
    from mlflow import MlflowClient

    rec = json.loads(
        Path(
            MlflowClient(paths.default_tracking_uri()).download_artifacts(
                report["run_id"], "nbrepro/repro.json"
            )
        ).read_text()
    )
    assert rec["environment"]["python"]["executable"].startswith(build["path"])
    code, again = rerun_json(captured, "--env", "recorded")
    assert code == 0 and again["environment_build"]["reused"] is True


def test_timeout_and_missing_artifact_are_clear(
    kernel_factory, tmp_path: Path, nbrepro_home: Path
) -> None:
    from urllib.parse import urlparse

    from mlflow import MlflowClient

    k = kernel_factory(cwd=tmp_path)
    k.ok("%load_ext nbrepro")
    k.ok("%%repro --name slow\nimport time\ntime.sleep(3)")
    run = latest_run(paths.default_tracking_uri())
    res = nbrepro_cli("rerun", run.info.run_id, "--timeout", "1")
    assert res.returncode == 3
    # A timeout is the rerun's failure, in a report like any other.
    assert "Verdict: FAILED" in res.stdout
    assert "raised CellTimeoutError: A cell timed out" in res.stdout
    assert "Traceback" not in res.stderr

    artifacts = Path(
        urlparse(
            MlflowClient(paths.default_tracking_uri()).get_run(run.info.run_id).info.artifact_uri
        ).path
    )
    (artifacts / "nbrepro" / "replay.ipynb").unlink()
    res = nbrepro_cli("rerun", run.info.run_id)
    assert res.returncode == 2
    assert "missing its artifact nbrepro/replay.ipynb" in res.stderr


def test_deleted_table_says_it_is_gone_once_whatever_the_data_mode(
    captured: str, wine: Path
) -> None:
    import shutil

    from nbrepro.record.vocabulary import EXIT_INPUT

    shutil.rmtree(wine)
    for args in ((), ("--data", "latest")):
        res = nbrepro_cli("rerun", captured, *args)
        assert res.returncode == EXIT_INPUT, res.stdout + res.stderr
        err = res.stderr
        assert "Traceback" not in err and "TableNotFoundError" not in err
        assert f"Delta table {wine} is gone" in err and "version 0" in err
        assert err.count("gone") == 1 and err.count("Restore it") == 1
        assert "--data latest" not in err  # it cannot read a table that is not there
        assert res.stdout == ""
        code, body = rerun_json(captured, *args)
        assert code == EXIT_INPUT and body["status"] == "error"
        assert body["exit_code"] == EXIT_INPUT and body["reproduces"] == captured
        assert body["error"] == err.strip().removeprefix("Error: ")


def test_rerun_json_interrupted_while_executing_names_the_killed_run(
    kernel_factory, tmp_path: Path, nbrepro_home: Path
) -> None:
    import signal
    import time

    from mlflow import MlflowClient

    from nbrepro.record.vocabulary import EXIT_INTERRUPTED

    gate = tmp_path / "slow"
    cell = (
        "%%repro --name sleeper\nimport os, time\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.2)"
    )
    k = kernel_factory(cwd=tmp_path)
    k.ok("%load_ext nbrepro")
    k.ok(cell)
    run_id = latest_run(paths.default_tracking_uri()).info.run_id
    gate.write_text("1")  # the rerun's cell now waits until it is interrupted
    progress = tmp_path / "progress.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro.cli", "rerun", run_id, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, paths.PROGRESS_FILE_ENV: str(progress)},
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and '"cells_done": 1' not in _text(progress):
            time.sleep(0.2)
        assert '"cells_done": 1' in _text(progress), _text(progress)
        time.sleep(1)  # the second cell, the one that waits, is running
        proc.send_signal(signal.SIGTERM)  # what a cancelled job gets
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_INTERRUPTED, err
    body = json.loads(out)
    assert body["status"] == "error" and body["exit_code"] == EXIT_INTERRUPTED
    assert body["reproduces"] == run_id and body["run_id"] not in (None, run_id)
    assert body["run_id"] in body["error"] and "KILLED" in body["error"]
    killed = MlflowClient(paths.default_tracking_uri()).get_run(body["run_id"])
    assert killed.info.status == "KILLED"
    assert killed.data.tags["nbrepro.reproduces"] == run_id


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_a_gone_table_the_run_writes_itself_does_not_stop_a_rerun(tmp_path: Path) -> None:
    # A notebook that creates a table and then reads it: the rerun makes it again.
    from nbrepro.record.vocabulary import LATEST, PINNED
    from nbrepro.reproduce.rerun import DataUnavailable, check_data

    table = str(tmp_path / "made-by-the-notebook")
    read = {"uri": table, "version": 0, "table_id": "t-1"}
    written = {"data": {"reads": [read], "writes": [{"uri": table, "version": 0}], "notes": []}}
    for data in (PINNED, LATEST):
        check_data(written, {}, data)
    only_read = {"data": {"reads": [read], "writes": [], "notes": []}}
    with pytest.raises(DataUnavailable, match="is gone"):
        check_data(only_read, {}, LATEST)
