"""Classic (JVM) PySpark: Delta reads recorded and pinned on the Python side, in a real kernel
with a real local SparkSession, and `nbrepro rerun` pinned and latest.

Delta's JVM jars come from Maven, which these machines cannot reach. The session reads Delta
through a stand-in: a PySpark Python data source registered under the name ``delta`` that
reads (and appends to) real Delta tables with ``deltalake``, honouring ``versionAsOf``. What
nbrepro does is all on the Python side (the reader's format and options, the pinned reader,
the SQL text), so it runs as it would with Delta's jars; the JVM reading of Delta does not.
Catalog tables and SQL over ``delta.`path``` need Delta's own catalog support: the stand-in
has none, so those classic paths are not run here (the same rules run under Spark Connect in
test_spark.py and test_spark_rerun.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable, write_deltalake
from helpers import latest_run, nbrepro_cli, rerun_json, run_notebook_cells
from test_spark_rerun import record_of

from nbrepro import paths

pytestmark = pytest.mark.kernel

CLASSIC = Path(sys.prefix) / "classic-pyspark"  # `make pytest` installs it (see the Makefile)

SETUP = '''from pyspark.sql import SparkSession
from pyspark.sql.datasource import DataSource, DataSourceReader, DataSourceWriter, WriterCommitMessage

class DeltaStandIn(DataSource):
    """Delta through deltalake (Delta's jars cannot be fetched here)."""

    @classmethod
    def name(cls):
        return "delta"

    def _table(self):
        import deltalake
        opts = {k.lower(): v for k, v in self.options.items()}
        dt = deltalake.DeltaTable(opts["path"])
        if "versionasof" in opts:
            dt.load_as_version(int(opts["versionasof"]))
        return dt

    def schema(self):
        import pyarrow as pa
        from pyspark.sql.pandas.types import from_arrow_schema
        return from_arrow_schema(pa.schema(self._table().schema().to_arrow()))

    def reader(self, schema):
        return StandInReader(self)

    def writer(self, schema, overwrite):
        return StandInWriter(dict(self.options))

class StandInReader(DataSourceReader):
    def __init__(self, source):
        self.source = source

    def read(self, partition):
        yield from self.source._table().to_pyarrow_table().to_batches()

class StandInWriter(DataSourceWriter):
    def __init__(self, options):
        self.options = options

    def write(self, rows):
        import deltalake
        import pyarrow as pa
        table = pa.Table.from_pylist([r.asDict() for r in rows])
        if table.num_rows:
            deltalake.write_deltalake(self.options["path"], table, mode="append")
        return WriterCommitMessage()

spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "1")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
spark.dataSource.register(DeltaStandIn)'''

TRAIN = """%%repro --name wine-classic --seed 0
import mlflow
import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

reader = spark.read.format("delta")
df = reader.load(TABLE).toPandas()
df = df.sort_values(list(df.columns)).reset_index(drop=True)
X, y = df.drop(columns=["target"]), df["target"]
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)
model = RandomForestRegressor(n_estimators=20, random_state=0).fit(X_tr, y_tr)
rmse = float(np.sqrt(mean_squared_error(y_te, model.predict(X_te))))
mlflow.log_metric("rmse", rmse)
first = spark.read.format("delta").option("versionAsOf", 0).load(TABLE).count()
spark.read.load(TABLE, format="delta").createOrReplaceTempView("wine_v")
in_view = spark.sql("SELECT count(*) FROM wine_v").collect()[0][0]
formatted = spark.sql("SELECT count(*) FROM {df}", df=spark.read.format("delta").load(TABLE))
again = reader.load(TABLE).count()
# load(format=...) sets the reader's format, as pyspark does: the next load reads Delta too.
plain = spark.read
reused = plain.load(TABLE, format="delta").count() + plain.load(TABLE).count()
spark.read.format("delta").load(TABLE).limit(3).coalesce(1).write.format("delta").mode(
    "append"
).save(OUT)
print(f"rows={len(df)} first={first} view={in_view} formatted={formatted.collect()[0][0]} again={again} reused={reused}")
print(f"rmse={rmse:.6f}")"""


@pytest.fixture
def classic(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Classic pyspark first on the path of kernels and the CLI (the venv has pyspark-client)."""
    if not (CLASSIC / "pyspark").is_dir():
        pytest.skip(f"classic PySpark is not installed in {CLASSIC}: run `make pytest`")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for classic PySpark")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(CLASSIC), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    # A Spark Connect session made earlier in this process (the `spark` fixture) leaves
    # SPARK_CONNECT_MODE_ENABLED set: kernels would then build Connect sessions.
    for name in (
        "SPARK_REMOTE",
        "SPARK_CONNECT_MODE_ENABLED",
        "SPARK_LOCAL_REMOTE",
        "SPARK_API_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
    return CLASSIC


def test_classic_spark_reads_are_captured_and_pinned(
    classic: Path, kernel_factory: Any, tmp_path: Path, nbrepro_home: Path
) -> None:
    from sklearn.datasets import load_wine

    table, out = tmp_path / "lake" / "wine", tmp_path / "lake" / "sample"
    data = load_wine(as_frame=True).frame
    data["target"] = data["target"].astype("int64")
    write_deltalake(str(table), data)  # version 0
    cells = [
        ("l", "%load_ext nbrepro"),
        ("t", f"TABLE = {str(table)!r}\nOUT = {str(out)!r}"),
        ("s", SETUP),
        ("train", TRAIN),
    ]
    reply = run_notebook_cells(kernel_factory, tmp_path, "wine_classic.ipynb", cells)["train"]
    assert "rows=178 first=178 view=178 formatted=178 again=178 reused=356" in reply.stdout, (
        reply.stdout
    )
    assert "nbrepro" not in "".join(
        o.get("text", "") for o in reply.outputs if o.get("name") == "stderr"
    )
    shown = [o["data"]["text/plain"] for o in reply.outputs if "data" in o]
    assert any("via spark" in t for t in shown), shown
    run_id = str(latest_run(paths.default_tracking_uri()).info.run_id)

    rec = record_of(run_id)
    # Eight reads of v0 (the reader twice, versionAsOf 0, the view's DataFrame, the {df}
    # argument, a reader loading twice, the written sample): one record; the view and the
    # formatted query add none.
    (read,) = rec["data"]["reads"]
    assert read["uri"] == str(table.resolve()) and read["version"] == 0
    assert read["via"] == "spark" and read["reads"] == 8
    assert read["latest_at_read"] and read["pinned_by_user"] and not read["pinned_by_nbrepro"]
    assert rec["data"]["notes"] == []
    (written,) = rec["data"]["writes"]
    assert written["uri"] == str(out.resolve()) and written["mode"] == "append"
    assert "spark" not in rec["data"] or rec["data"]["spark"] == {"remotes": []}

    # The nightly job appends 40 relabelled rows (version 1).
    extra = data.sample(40, random_state=1).reset_index(drop=True)
    extra["target"] = (extra["target"] + 1) % 3
    write_deltalake(str(table), extra, mode="append")
    assert DeltaTable(str(table)).version() == 1

    code, report = rerun_json(run_id)
    assert code == 0, json.dumps(report.get("sections") or report, indent=1)[:3000]
    assert report["verdict"] == "reproduced"
    assert report["sections"]["metrics"]["same"] and report["sections"]["outputs"]["same"]
    assert list(report["pins"]) == [str(table.resolve())]
    pinned = record_of(report["run_id"])["data"]["reads"]
    # One record: the pinned reads and the code's own versionAsOf 0 (flags are OR-ed).
    assert [(r["version"], r["pinned_by_nbrepro"], r["pinned_by_user"]) for r in pinned] == [
        (0, True, True)
    ]
    assert not pinned[0]["latest_at_read"]

    code, report = rerun_json(run_id, "--data", "latest")
    assert code == 1 and report["verdict"] == "differs"
    assert report["differs"][0] == "data"
    assert report["sections"]["data"]["tables"][0]["note"] == "moved: v0 -> v0,1"
    assert not report["sections"]["outputs"]["same"]  # rows=218
    shown = nbrepro_cli("show", run_id)
    assert "via spark" in shown.stdout, shown.stdout
