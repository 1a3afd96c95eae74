"""A team deployment, for real: an `mlflow server` on PostgreSQL with artifacts on S3 (moto),
a Delta table on S3 read with credentials passed in `storage_options`, the pinned rerun
after an append, `--data latest`, drift, and a grep of the database and the bucket for the
planted secret."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable, write_deltalake
from helpers import WAIT_UPLOADS, api_check, latest_run, nbrepro_cli, rerun_json, run_notebook_cells

pytestmark = [pytest.mark.team, pytest.mark.server, pytest.mark.kernel]
pytest_plugins = ["pytest_jupyter.jupyter_server"]

SETUP = """import os
TABLE = os.environ["LAKE_TABLE"]
# The store's keys come from the team's own variables, passed as deltalake options.
STORAGE = {
    "AWS_ENDPOINT_URL": os.environ["LAKE_ENDPOINT"],
    "AWS_ALLOW_HTTP": "true",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": os.environ["LAKE_KEY_ID"],
    "AWS_SECRET_ACCESS_KEY": os.environ["LAKE_SECRET"],
}"""

TRAIN = """%%repro --experiment team --name wine-s3 --seed 0
import mlflow
import numpy as np
from deltalake import DeltaTable
from sklearn.linear_model import LogisticRegression

df = DeltaTable(TABLE, storage_options=STORAGE).to_pandas()
df = df.sort_values(list(df.columns)).reset_index(drop=True)
X, y = df.drop(columns=["target"]), df["target"]
model = LogisticRegression(max_iter=2000).fit(X, y)
accuracy = float(model.score(X, y))
mlflow.log_param("max_iter", 2000)
mlflow.log_metric("accuracy", accuracy)
print(f"rows={len(df)} accuracy={accuracy:.6f}")"""

_AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION")


def _cli_env(monkeypatch: pytest.MonkeyPatch, server: Any, s3: Any, keys: bool) -> None:
    """What a teammate's shell has: the tracking server, the store's keys (or not), and
    no endpoint: nbrepro takes that from the record."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    for name in (*_AWS, "AWS_DEFAULT_REGION", "MLFLOW_S3_ENDPOINT_URL", "AWS_ALLOW_HTTP"):
        monkeypatch.delenv(name, raising=False)
    if keys:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)


def test_a_team_run_on_s3_reproduces_and_leaks_nothing(
    team_server: Any,
    s3: Any,
    postgres: Any,
    kernel_factory: Any,
    tmp_path: Path,
    nbrepro_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient
    from sklearn.datasets import load_wine

    table = f"s3://lake/wine-{uuid.uuid4().hex[:8]}"
    data = load_wine(as_frame=True).frame
    data["target"] = data["target"].astype("int64")
    write_deltalake(table, data, storage_options=s3.storage_options())  # version 0
    lake = {
        "LAKE_TABLE": table,
        "LAKE_ENDPOINT": s3.endpoint,
        "LAKE_KEY_ID": s3.access_key,
        "LAKE_SECRET": s3.secret_key,
    }
    for name, value in lake.items():  # the reruns' kernels inherit them from the CLI
        monkeypatch.setenv(name, value)
    _cli_env(monkeypatch, team_server, s3, keys=False)  # the kernel: keys only in the code
    cells = [("l", "%load_ext nbrepro"), ("s", SETUP), ("train", TRAIN), ("w", WAIT_UPLOADS)]
    reply = run_notebook_cells(kernel_factory, tmp_path, "team.ipynb", cells)["train"]
    assert "rows=178" in reply.stdout, reply.stdout + reply.text()
    assert "nbrepro warning" not in reply.text()
    run_id = str(latest_run(team_server.uri, "team").info.run_id)
    client = MlflowClient(team_server.uri)
    rec = json.loads(Path(client.download_artifacts(run_id, "nbrepro/repro.json")).read_text())
    (read,) = rec["data"]["reads"]
    assert read["uri"] == table and read["version"] == 0
    # Where and how the table was reached is recorded; the keys are not.
    assert read["storage_options"] == {
        "AWS_ALLOW_HTTP": "true",
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_REGION": "us-east-1",
    }

    # The nightly job appends 40 relabelled rows (version 1).
    extra = data.sample(40, random_state=1).reset_index(drop=True)
    extra["target"] = (extra["target"] + 1) % 3
    write_deltalake(table, extra, mode="append", storage_options=s3.storage_options())
    assert DeltaTable(table, storage_options=s3.storage_options()).version() == 1

    # A teammate with the store's keys in the environment, and no endpoint.
    _cli_env(monkeypatch, team_server, s3, keys=True)
    code, report = rerun_json(run_id)
    assert code == 0, json.dumps(report, indent=1)[:3000]
    assert report["verdict"] == "reproduced" and list(report["pins"]) == [table]
    # The pin was checked before running, at the recorded endpoint.
    assert not any("could not be checked" in n for n in report["notes"]), report["notes"]
    assert report["sections"]["metrics"]["same"]
    code, latest = rerun_json(run_id, "--data", "latest")
    assert code == 1 and latest["differs"][0] == "data"
    assert latest["sections"]["data"]["tables"][0]["note"] == "moved: v0 -> v1"
    listed = json.loads(nbrepro_cli("list", "--experiment", "team", "--json").stdout)
    [row] = [r for r in listed if r["run_id"] == run_id]
    assert row["data_changed"] is True and row["changed_tables"] == [table]
    shown = nbrepro_cli("show", run_id)
    assert "v0 read, table now at v1" in shown.stdout, shown.stdout

    # Without the keys, nbrepro says it cannot open the table: not that it is gone. The
    # pinned rerun goes on (its kernel reads as the notebook does) and says what it skipped.
    _cli_env(monkeypatch, team_server, s3, keys=False)
    shown = nbrepro_cli("show", run_id)
    assert "want of access" in shown.stdout and "gone" not in shown.stdout, shown.stdout
    listed = json.loads(nbrepro_cli("list", "--experiment", "team", "--json").stdout)
    [row] = [r for r in listed if r["run_id"] == run_id]
    assert row["data_changed"] is None  # unknown, not "unchanged"
    code, blind = rerun_json(run_id)
    assert code == 0 and blind["verdict"] == "reproduced", json.dumps(blind)[:3000]
    [note] = [n for n in blind["notes"] if "could not be checked" in n]
    assert "AWS_ACCESS_KEY_ID" in note and s3.secret_key not in note, note

    # Nothing of the secret in the database, the bucket, or nbrepro's own folders.
    assert s3.secret_key not in postgres.dump("mlflow")
    for bucket, key, body in s3.all_objects():
        assert s3.secret_key.encode() not in body, f"s3://{bucket}/{key}"
    for path in nbrepro_home.rglob("*"):
        if path.is_file():
            assert s3.secret_key.encode() not in path.read_bytes(), path
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") is None


HEADLESS = """%%repro --experiment churn --name rf --seed 7
import os
from deltalake import DeltaTable

storage = {
    "AWS_ENDPOINT_URL": os.environ["LAKE_ENDPOINT"],
    "AWS_ALLOW_HTTP": "true",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": os.environ["LAKE_KEY_ID"],
    "AWS_SECRET_ACCESS_KEY": os.environ["LAKE_SECRET"],
}
df = DeltaTable(os.environ["LAKE_TABLE"], storage_options=storage).to_pandas()
print("rows", len(df))"""


@pytest.fixture
def jp_server_config(jp_server_config: Any, tmp_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nbrepro": True}},
        "NbreproServer": {"jobs_dir": str(tmp_path / "jobs")},
    }


async def test_a_headless_run_uploads_straight_to_s3_and_the_sidebar_api_sees_it(
    jp_fetch: Any,
    team_server_direct: Any,
    s3: Any,
    tmp_path: Path,
    nbrepro_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--no-serve-artifacts`: clients write artifacts to S3 themselves. The cell's own
    `%%repro` options hold under `nbrepro run`; the runs list and details (what the sidebar
    shows) come from the server, with drift through the recorded endpoint."""
    from helpers import write_notebook
    from mlflow import MlflowClient

    table = f"s3://lake/churn-{uuid.uuid4().hex[:8]}"
    write_deltalake(table, _frame([1, 2, 3]), storage_options=s3.storage_options())
    for name, value in {
        "LAKE_TABLE": table,
        "LAKE_ENDPOINT": s3.endpoint,
        "LAKE_KEY_ID": s3.access_key,
        "LAKE_SECRET": s3.secret_key,
    }.items():
        monkeypatch.setenv(name, value)
    _cli_env(monkeypatch, team_server_direct, s3, keys=True)
    # Artifacts go to S3 from this process: MLflow's client needs the endpoint.
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3.endpoint)
    nb = write_notebook(tmp_path / "churn.ipynb", [("a", "%load_ext nbrepro"), ("b", HEADLESS)])
    res = nbrepro_cli("run", str(nb), "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    run_id = json.loads(res.stdout)["run_id"]
    run = MlflowClient(team_server_direct.uri).get_run(run_id)
    assert run.info.run_name == "rf" and run.info.artifact_uri.startswith("s3://mlflow/direct/")
    assert run.data.params.get("nbrepro.seed", run.data.tags.get("nbrepro.seed")) == "7"
    prefix = run.info.artifact_uri.removeprefix("s3://mlflow/") + "/nbrepro/repro.json"
    assert any(key == prefix for bucket, key, _ in s3.all_objects() if bucket == "mlflow")

    write_deltalake(table, _frame([4]), mode="append", storage_options=s3.storage_options())
    from nbrepro.capture.delta import tables

    monkeypatch.setattr(tables, "VERSION_CACHE_SECONDS", 0.0)
    page = await _api(jp_fetch, "runs", experiment="churn")
    [row] = [r for r in api_check(page, "RunsPage")["runs"] if r["run_id"] == run_id]
    assert row["data_changed"] is True and row["changed_tables"] == [table]
    details = api_check(await _api(jp_fetch, "runs", run_id), "RunDetails")
    assert details["drift"][0]["detail"] == "v0 read, table now at v1"


async def _api(jp_fetch: Any, *parts: str, **params: str) -> Any:
    resp = await jp_fetch("nbrepro", *parts, method="GET", params=params)
    assert resp.code == 200
    return json.loads(resp.body)


def _frame(values: list[int]) -> Any:
    import pandas as pd

    return pd.DataFrame({"x": values})


def test_a_capture_while_the_team_server_is_down_is_spooled_and_synced(
    postgres: Any,
    s3: Any,
    kernel_factory: Any,
    tmp_path: Path,
    nbrepro_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nbrepro.testing import MlflowServer

    server = MlflowServer(
        tmp_path / "server",
        backend_store_uri=postgres.create_database("spooled"),
        artifacts_destination="s3://mlflow/spooled",
        env=s3.env(),
    ).start()
    try:
        _cli_env(monkeypatch, server, s3, keys=False)
        k = kernel_factory(env={"NBREPRO_STORE_TIMEOUT": "5"})
        k.ok("%load_ext nbrepro")
        k.ok("%%repro -e team-spool --name up\nx = 1")
        k.ok(WAIT_UPLOADS)  # its HTML is logged in the background
        server.stop()
        r = k.ok(
            "%%repro -e team-spool --name while-down\nimport mlflow\nmlflow.log_metric('m', 2.0)"
        )
        warnings = [x for x in r.stderr.splitlines() if "nbrepro warning" in x]
        assert len(warnings) == 1 and "nbrepro sync" in warnings[0], r.stderr
        server.start()
        res = nbrepro_cli("sync", "--json")
        assert res.returncode == 0, res.stdout + res.stderr
        synced = json.loads(res.stdout)
        assert synced["failed"] == 0 and synced["uploaded"] >= 1
        run = latest_run(server.uri, "team-spool")
        assert run.info.run_name == "while-down" and run.data.metrics == {"m": 2.0}
        assert run.info.run_id in postgres.dump("spooled")
        keys = [key for bucket, key, _ in s3.all_objects() if bucket == "mlflow"]
        assert any(run.info.run_id in key and key.endswith("nbrepro/repro.json") for key in keys)
    finally:
        server.stop()
