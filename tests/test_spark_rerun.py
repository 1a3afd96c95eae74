"""The wine story read through Spark: `%%repro` in a real kernel, a nightly append through
Spark, `nbrepro rerun` pinned and latest, against a real Spark Connect server (Sail)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from helpers import api_check, latest_run, nbrepro_cli, rerun_json, run_notebook_cells

from nbrepro import paths

pytest.importorskip("pysail")
pytestmark = pytest.mark.kernel

SETUP = """from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()  # SPARK_REMOTE names the server
spark.sql(f"CREATE TABLE IF NOT EXISTS wine USING delta LOCATION '{TABLE}'")"""

TRAIN = """%%repro --name wine-spark --seed 0
import mlflow
import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

df = spark.read.format("delta").load(TABLE).toPandas()
df = df.sort_values(list(df.columns)).reset_index(drop=True)
X, y = df.drop(columns=["target"]), df["target"]
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)
model = RandomForestRegressor(n_estimators=20, random_state=0).fit(X_tr, y_tr)
rmse = float(np.sqrt(mean_squared_error(y_te, model.predict(X_te))))
mlflow.log_metric("rmse", rmse)
first = spark.read.format("delta").option("versionAsOf", 0).load(TABLE).count()
stamped = spark.read.format("delta").option("timestampAsOf", STAMP).load(TABLE).count()
catalog = spark.table("wine").count()
in_sql = spark.sql(f"SELECT count(*) FROM delta.`{TABLE}`").collect()[0][0]
print(f"rows={len(df)} first={first} stamped={stamped} catalog={catalog} sql={in_sql}")
print(f"rmse={rmse:.6f}")"""


def nightly_append(spark: Any, table: Path) -> None:
    """The nightly job, through Spark: 40 relabelled rows appended (version 1)."""
    df = spark.read.format("delta").load(str(table)).toPandas()
    df = df.sort_values(list(df.columns)).sample(40, random_state=1).reset_index(drop=True)
    df["target"] = (df["target"] + 1) % 3
    spark.createDataFrame(df).write.format("delta").mode("append").save(str(table))


@pytest.fixture
def spark_wine(spark: Any, tmp_path: Path) -> Path:
    from sklearn.datasets import load_wine

    table = tmp_path / "lake" / "wine"
    data = load_wine(as_frame=True).frame
    data["target"] = data["target"].astype("int64")
    spark.createDataFrame(data).write.format("delta").save(str(table))  # version 0
    return table


@pytest.fixture
def spark_captured(
    kernel_factory: Any,
    tmp_path: Path,
    spark_wine: Path,
    sail: Any,
    nbrepro_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    monkeypatch.setenv("SPARK_REMOTE", sail.remote)
    commit = DeltaTable(str(spark_wine)).history()[-1]["timestamp"]
    stamp = datetime.fromtimestamp(commit / 1000 + 1, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    cells = [
        ("l", "%load_ext nbrepro"),
        ("t", f"TABLE = {str(spark_wine)!r}\nSTAMP = {stamp!r}"),
        ("s", SETUP),
        ("train", TRAIN),
    ]
    reply = run_notebook_cells(kernel_factory, tmp_path, "wine_spark.ipynb", cells)["train"]
    assert "rows=178 first=178 stamped=178 catalog=178 sql=178" in reply.stdout, reply.stdout
    shown = [o["data"]["text/plain"] for o in reply.outputs if "data" in o]
    assert any("via spark, table wine" in t for t in shown), shown  # the summary
    return str(latest_run(paths.default_tracking_uri()).info.run_id)


def record_of(run_id: str) -> dict[str, Any]:
    from mlflow import MlflowClient

    client = MlflowClient(paths.default_tracking_uri())
    return json.loads(Path(client.download_artifacts(run_id, "nbrepro/repro.json")).read_text())


def test_spark_reads_are_captured_like_deltalake_reads(spark_captured: str, sail: Any) -> None:
    from mlflow import MlflowClient
    from mlflow.data.delta_dataset_source import DeltaDatasetSource

    rec = record_of(spark_captured)
    # Five reads of v0 (latest, versionAsOf 0, timestampAsOf, catalog, SQL): one record of
    # the table at v0, the catalog name kept, both "latest" and "named by the code".
    (read,) = rec["data"]["reads"]
    assert read["via"] == "spark" and read["table_name"] == "wine" and read["reads"] == 5
    assert read["version"] == 0 and read["latest_at_read"] and read["pinned_by_user"]
    assert rec["data"]["spark"] == {"remotes": [sail.remote]}
    assert rec["data"]["notes"] == []
    run = MlflowClient(paths.default_tracking_uri()).get_run(spark_captured)
    tag = json.loads(run.data.tags["nbrepro.delta_reads"])
    assert tag == [[read["uri"], 0, read["table_id"]]]
    # The MLflow dataset input names version 0 (DeltaDatasetSource alone would drop it).
    (dataset,) = run.inputs.dataset_inputs
    source = json.loads(dataset.dataset.source)
    assert source == {
        "path": read["uri"],
        "delta_table_version": 0,
        "delta_table_id": read["table_id"],
        "catalog_table_name": "wine",
        "read_via": "spark",
    }
    assert DeltaDatasetSource.from_dict(source).to_dict()["path"] == read["uri"]  # MLflow reads it
    shown = nbrepro_cli("show", spark_captured)
    assert "via spark" in shown.stdout and "table wine" in shown.stdout


def test_pinned_rerun_after_a_spark_append_reproduces(
    spark_captured: str, spark: Any, spark_wine: Path
) -> None:
    nightly_append(spark, spark_wine)
    assert DeltaTable(str(spark_wine)).version() == 1
    code, report = rerun_json(spark_captured)
    assert code == 0, json.dumps(report["sections"], indent=1)[:3000]
    assert report["verdict"] == "reproduced"
    assert report["sections"]["metrics"]["same"] and report["sections"]["outputs"]["same"]
    assert list(report["pins"]) == [str(spark_wine.resolve())]
    rec = record_of(report["run_id"])
    pinned = [r for r in rec["data"]["reads"] if r["pinned_by_nbrepro"]]
    assert pinned and {r["version"] for r in pinned} == {0}
    assert all(not r["latest_at_read"] for r in rec["data"]["reads"])


def test_latest_data_differs_and_names_the_spark_table(
    spark_captured: str, spark: Any, spark_wine: Path
) -> None:
    nightly_append(spark, spark_wine)
    code, report = rerun_json(spark_captured, "--data", "latest")
    assert code == 1
    assert api_check(report, "Report")["verdict"] == "differs"
    assert report["differs"][0] == "data"
    # The code's own versionAsOf 0 is still read, beside the latest.
    assert report["sections"]["data"]["tables"][0]["note"] == "moved: v0 -> v0,1"
    assert not report["sections"]["outputs"]["same"]  # rows=218 catalog=218 sql=218
    rec = record_of(report["run_id"])
    # What the code named is still read as named: v0 and the timestamp before the append.
    assert {r["version"] for r in rec["data"]["reads"] if r["pinned_by_user"]} == {0}


def test_a_rerun_can_take_another_spark_address(
    spark_captured: str, sail: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPARK_REMOTE")
    moved = f"{sail.remote}/;user_id=moved"
    env_before = dict(os.environ)
    code, report = rerun_json(spark_captured, "--spark-remote", moved)
    assert os.environ == env_before
    assert code == 0, report.get("error") or report["differs"]
    assert record_of(report["run_id"])["data"]["spark"] == {"remotes": [moved]}
