"""``nbrepro demo``: the quick start, end to end on the embedded default store."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from nbrepro.errors import NbreproError
from nbrepro.record.tags import NOTEBOOK_TAG

DEMO_NOTEBOOK = "demo.ipynb"
SPARK_NOTEBOOK = "demo_spark.ipynb"


def measurements(n: int, start: int, seed: int) -> Any:
    """A batch of the demo's measurements: ``y = 3 x1 - 2 x2 + 0.5 + noise``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = 3.0 * x1 - 2.0 * x2 + 0.5 + rng.normal(scale=0.1, size=n)
    return pd.DataFrame({"id": np.arange(start, start + n), "x1": x1, "x2": x2, "y": y})


def write_demo_table(path: Path) -> list[int]:
    """A small Delta table with two versions: the initial load and a nightly append."""
    from deltalake import DeltaTable, write_deltalake

    if path.exists():
        shutil.rmtree(path)
    write_deltalake(str(path), measurements(200, 0, seed=0))
    write_deltalake(str(path), measurements(50, 200, seed=1), mode="append")
    return [0, DeltaTable(str(path)).version()]


def run_demo(workdir: str | os.PathLike[str]) -> str:
    """Write the table, execute the demo notebook in a real kernel, describe the run."""
    import papermill as pm

    from nbrepro.store.tracking import display_uri, resolve_tracking_uri

    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    versions = write_demo_table(root / "data" / "measurements")
    notebook = root / DEMO_NOTEBOOK
    source = resources.files("nbrepro.demo_files").joinpath(DEMO_NOTEBOOK)
    notebook.write_text(source.read_text("utf-8"), "utf-8")
    executed = root / "demo.executed.ipynb"
    # The kernel finds its notebook through JPY_SESSION_NAME, as under Jupyter.
    previous = os.environ.get("JPY_SESSION_NAME")
    os.environ["JPY_SESSION_NAME"] = str(notebook)
    try:
        pm.execute_notebook(str(notebook), str(executed), cwd=str(root), progress_bar=False)
    except Exception as exc:
        raise NbreproError(f"the demo notebook failed: {exc}") from exc
    finally:
        if previous is None:
            os.environ.pop("JPY_SESSION_NAME", None)
        else:
            os.environ["JPY_SESSION_NAME"] = previous

    uri = resolve_tracking_uri()
    run = _latest_capture(uri, notebook)
    rec = _record_of(uri, run.info.run_id)
    lines = [
        f"Demo Delta table: {root / 'data' / 'measurements'} (versions {versions[0]}..{versions[-1]})",
        f"Captured run: {run.info.run_id} ({run.info.run_name}, {run.info.status})",
        f"  metrics: {dict(run.data.metrics)}  params: {dict(run.data.params)}",
    ]
    for read in rec["data"]["reads"]:
        lines.append(
            f"  Delta read: {read['uri']} @ version {read['version']} (table id {read['table_id']})"
        )
    lines.append(
        f"  executed cells captured: {len(rec['code']['cells'])}; hidden state: "
        f"{'yes' if rec['code']['hidden_state']['hidden'] else 'none'}"
    )
    lines.append(f"Stored in: {display_uri(uri)}")
    lines.append(f"Artifacts: {run.info.artifact_uri}")
    lines.append(f"Re-execute it pinned to its data: nbrepro rerun {run.info.run_id}")
    lines.append("Browse it: nbrepro ui   (MLflow UI on 127.0.0.1:5000)")
    lines.append(f"Executed notebook: {executed}")
    return "\n".join(lines)


def run_spark_demo(workdir: str | os.PathLike[str]) -> str:
    """The story through Spark Connect, on a local Sail server started for it: a table
    written with Spark, a capture reading it with Spark, a nightly append through Spark,
    then a pinned rerun and a rerun on the latest data."""
    import papermill as pm

    from nbrepro.cli.sail import SailServer
    from nbrepro.paths import environ
    from nbrepro.reproduce.rerun import RerunOptions, rerun
    from nbrepro.store.tracking import display_uri, resolve_tracking_uri

    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    table = root / "data" / "measurements"
    if table.exists():
        shutil.rmtree(table)
    notebook = root / SPARK_NOTEBOOK
    source = resources.files("nbrepro.demo_files").joinpath(SPARK_NOTEBOOK)
    notebook.write_text(source.read_text("utf-8"), "utf-8")
    executed = root / "demo_spark.executed.ipynb"
    uri = resolve_tracking_uri()
    lines = []
    with SailServer(root, log=root / "sail.log") as sail:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(sail.remote).getOrCreate()
        try:
            spark.createDataFrame(measurements(200, 0, seed=0)).write.format("delta").save(
                str(table)
            )
            lines.append(f"Spark Connect server (Sail, started for the demo): {sail.remote}")
            lines.append(f"Demo Delta table, written with Spark: {table} (version 0)")
            with environ({"SPARK_REMOTE": sail.remote, "JPY_SESSION_NAME": str(notebook)}):
                try:
                    pm.execute_notebook(
                        str(notebook), str(executed), cwd=str(root), progress_bar=False
                    )
                except Exception as exc:
                    raise NbreproError(f"the Spark demo notebook failed: {exc}") from exc
                run = _latest_capture(uri, notebook)
                rec = _record_of(uri, run.info.run_id)
                lines.append(
                    f"Captured run: {run.info.run_id} ({run.info.run_name}), "
                    f"rmse={run.data.metrics.get('rmse')}"
                )
                for read in rec["data"]["reads"]:
                    name = f", table {read['table_name']}" if read.get("table_name") else ""
                    lines.append(
                        f"  Delta read: {read['uri']} @ version {read['version']} "
                        f"(via {read.get('via')}{name}; {read['reads']} reads)"
                    )
                more = measurements(50, 200, seed=1)
                spark.createDataFrame(more).write.format("delta").mode("append").save(str(table))
                lines.append("Nightly append through Spark: the table is now at version 1")
                for data in ("pinned", "latest"):
                    result = rerun(run.info.run_id, uri, RerunOptions(data=data))
                    report = result.report
                    why = ", ".join(report.get("differs") or []) or "-"
                    rmse: dict[str, Any] = next(
                        (m for m in report["sections"]["metrics"]["values"] if m["name"] == "rmse"),
                        {},
                    )
                    flag = "" if data == "pinned" else " --data latest"
                    lines.append(
                        f"nbrepro rerun {run.info.run_id}{flag}: {report['verdict'].upper()} "
                        f"(differs in: {why}; rmse {rmse.get('original')} -> {rmse.get('rerun')})"
                    )
        finally:
            spark.stop()
    lines.append(f"Stored in: {display_uri(uri)}")
    lines.append(f"Executed notebook: {executed}")
    lines.append(
        "The server is stopped: to rerun again, start a Spark Connect server on the same "
        "table and pass it with --spark-remote."
    )
    return "\n".join(lines)


def _latest_capture(uri: str, notebook: Path) -> Any:
    from nbrepro.store.tracking import client_for, display_uri

    client = client_for(uri)
    exp = client.get_experiment_by_name("nbrepro")
    runs = client.search_runs(
        [exp.experiment_id] if exp else [],
        filter_string=f"tags.`{NOTEBOOK_TAG}` = '{notebook}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise NbreproError(f"the demo ran but no captured run was found in {display_uri(uri)}")
    return runs[0]


def _record_of(uri: str, run_id: str) -> Any:
    from nbrepro import record
    from nbrepro.store.tracking import client_for

    path = client_for(uri).download_artifacts(run_id, record.RECORD_ARTIFACT)
    return record.loads(Path(path).read_text("utf-8"))
