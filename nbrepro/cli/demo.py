"""``nbrepro demo``: the quick start, end to end on the embedded default store.

One command tells the whole story: a Delta table of scikit-learn's wine data, a
notebook whose ``%%repro`` cell trains a classifier on it, the capture, a nightly
append, then a rerun pinned to the version the run read (it reproduces) and one on
the latest data (it differs). What is printed of the reruns comes from their reports:
a pinned rerun that does not reproduce is said to, with the report's reasons.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from nbrepro.errors import NbreproError, cell_label
from nbrepro.record.tags import NOTEBOOK_TAG
from nbrepro.record.vocabulary import FAILED, LATEST, PINNED, REPRODUCED

DEMO_NOTEBOOK = "demo.ipynb"
SPARK_NOTEBOOK = "demo_spark.ipynb"
# The notebook reads the table by this path, relative to its folder.
WINE_TABLE = "data/wine"
# Version 0 of the table: this many of the 178 wines, drawn with SPLIT_SEED.
FIRST_LOAD_ROWS = 120
SPLIT_SEED = 1
# How long the demo waits for the page of the notebook that the kernel's worker uploads
# after the capture's cell has returned.
HTML_WAIT_S = 60.0


class DemoFailed(NbreproError):
    """The demo ran, but its story did not come out (the pinned rerun did not reproduce
    the run, a rerun failed, the run's artifacts are incomplete)."""


def wine_batches() -> tuple[Any, Any]:
    """scikit-learn's wine data as the table's first load and the nightly append: a
    fixed, seeded split, each part in the data's order, with an ``id`` column and the
    cultivar by name (labels that are text make the model's signature text, not an
    integer MLflow warns about)."""
    import numpy as np
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    wine = load_wine(as_frame=True)
    frame = wine.frame.drop(columns="target")
    frame.insert(0, "id", np.arange(len(frame)))
    frame["cultivar"] = np.asarray(wine.target_names)[wine.target.to_numpy()]
    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    first, rest = np.sort(order[:FIRST_LOAD_ROWS]), np.sort(order[FIRST_LOAD_ROWS:])
    return frame.iloc[first].reset_index(drop=True), frame.iloc[rest].reset_index(drop=True)


def measurements(n: int, start: int, seed: int) -> Any:
    """A batch of the Spark demo's measurements: ``y = 3 x1 - 2 x2 + 0.5 + noise``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = 3.0 * x1 - 2.0 * x2 + 0.5 + rng.normal(scale=0.1, size=n)
    return pd.DataFrame({"id": np.arange(start, start + n), "x1": x1, "x2": x2, "y": y})


def run_demo(workdir: str | os.PathLike[str], say: Callable[[str], None] | None = None) -> None:
    """Tell the story in ``workdir``, each line through ``say`` as soon as it is known
    (a step that takes seconds is announced first); by default printed and flushed.

    Raises:
        NbreproError: the store cannot be reached, the notebook failed, or its run was
            not found in the store.
        DemoFailed: the pinned rerun did not reproduce the run, a rerun failed, or the
            run's notebook page never arrived; the lines said what the reports found.
    """
    say = say or functools.partial(print, flush=True)
    root = Path(workdir).resolve()
    say(
        f"nbrepro demo, in {root}: a classifier trained on a Delta table, captured, "
        "then re-executed (about a minute)"
    )
    with quiet_kernels():
        _demo(root, say)


def _demo(root: Path, say: Callable[[str], None]) -> None:
    from deltalake import DeltaTable, write_deltalake

    from nbrepro.reproduce.rerun import RerunOptions, rerun
    from nbrepro.store.tracking import check_reachable, display_uri, resolve_tracking_uri

    uri = resolve_tracking_uri()
    check_reachable(uri)  # before a minute's work that a store it cannot reach would waste
    root.mkdir(parents=True, exist_ok=True)
    table = root / WINE_TABLE
    notebook = copy_notebook(DEMO_NOTEBOOK, root)
    first, nightly = wine_batches()

    say("1. A Delta table of scikit-learn's wine data")
    if table.exists():
        shutil.rmtree(table)
    write_deltalake(str(table), first)
    say(
        _row("wrote", f"{table} @ version 0: {len(first)} of the {len(first) + len(nightly)} wines")
    )

    say(f"2. Running {DEMO_NOTEBOOK} in a fresh kernel: its %%repro cell trains a classifier ...")
    started = time.time()
    execute_notebook(notebook, root / "demo.executed.ipynb")
    run = captured_run(uri, notebook, started)
    run_id = run.info.run_id
    rec = record_of(uri, run_id)
    for line in capture_story(run, rec, display_uri(uri)):
        say(line)

    say("3. The nightly job appends rows")
    write_deltalake(str(table), nightly, mode="append")
    now = DeltaTable(str(table)).version()
    say(_row("appended", f"{table} @ version {now}: {len(nightly)} more wines"))

    say(f"4. Re-executing the run pinned to the data it read (nbrepro rerun {run_id}) ...")
    pinned = rerun(run_id, uri, RerunOptions(data=PINNED)).report
    for line in pinned_story(pinned, now, root):
        say(line)

    say(f"5. Re-executing it on the latest data (nbrepro rerun {run_id} --data {LATEST}) ...")
    latest = rerun(run_id, uri, RerunOptions(data=LATEST)).report
    for line in differences(latest, root):
        say(line)

    check_story(pinned, latest, uri, run_id)

    next_steps = {
        "the run as nbrepro recorded it:": f"nbrepro show {run_id}",
        "the MLflow UI on these runs:": "nbrepro ui   (then open http://127.0.0.1:5000)",
        "JupyterLab, with nbrepro's sidebar:": f"make lab     (or: jupyter lab {notebook})",
    }
    say("")
    say("Where to look next:")
    for what, command in next_steps.items():
        say(_row(what, command, max(map(len, next_steps))))


def capture_story(run: Any, rec: Mapping[str, Any], store: str) -> list[str]:
    """What the capture recorded: the run, each table read (through Spark, said), the
    cells, the params and metrics, where it is stored."""
    lines = [_row("captured run", f"{run.info.run_id} ({run.info.run_name})")]
    for read in rec["data"]["reads"]:
        via = read.get("via")
        how = f" (through {via}{', table ' + read['table_name'] if read.get('table_name') else ''})"
        lines.append(
            _row(
                "it read",
                f"{read['uri']} @ version {read['version']}" + (how if via == "spark" else ""),
            )
        )
    lines.append(_row("cells", f"{len(rec['code']['cells'])} executed cells captured, in order"))
    lines.append(_row("params", _values(run.data.params)))
    lines.append(_row("metrics", _values(run.data.metrics)))
    lines.append(_row("stored in", store))
    return lines


def check_story(
    pinned: Mapping[str, Any], latest: Mapping[str, Any], uri: str, run_id: str
) -> None:
    """Raise :class:`DemoFailed` unless the story came out: the pinned rerun
    reproduced, the latest one ran, and the run's page was stored."""
    from nbrepro import record

    problems = []
    if pinned["verdict"] != REPRODUCED:
        problems.append(f"the pinned rerun did not reproduce the run: {_verdict(pinned)}")
    if latest["verdict"] == FAILED:
        problems.append(f"the rerun on the latest data failed: {_verdict(latest)}")
    html = record.ARTIFACT_PATHS["html"]
    if not wait_for_artifact(uri, run_id, html, HTML_WAIT_S):
        problems.append(
            f"{html} of run {run_id} was not stored within {HTML_WAIT_S:.0f} s "
            "(`nbrepro sync` uploads what was kept)"
        )
    if problems:
        raise DemoFailed("; ".join(problems))


def pinned_story(report: Mapping[str, Any], now: int, root: Path) -> list[str]:
    """The pinned rerun: the verdict, each metric and model, and why they are the same
    although the table moved on to version ``now``. A rerun that did not reproduce is
    told by its differences. Tables under ``root`` are named from there."""
    if report["verdict"] != REPRODUCED:
        return differences(report, root)
    lines = [_row("verdict", _verdict(report))]
    for row in report["sections"]["metrics"]["values"]:
        lines.append(_row(row["name"], f"{_number(row['rerun'])}, identical"))
    for row in (report["sections"].get("model") or {}).get("models", []):
        predictions = row.get("predictions") or {}
        same = (
            f"the same predictions on its {predictions['rows']} example rows"
            if predictions.get("same")
            else "the same files"
        )
        lines.append(_row(_model(row), same))
    pins = report.get("pins") or {}
    for table in report["sections"]["data"]["tables"]:
        how = "pinned to" if table["uri"] in pins else "as the code names"
        lines.append(
            _row(
                "why",
                f"{how} version {_versions(table['rerun'])} of {_shown(table['uri'], root)}, "
                f"the version the run read; the table is now at version {now}",
            )
        )
    return lines


def differences(report: Mapping[str, Any], root: Path) -> list[str]:
    """The verdict, then each difference the report found, causes before effects: the
    data first, then the code, the params, the metrics, the outputs, the model. Tables
    under ``root`` are named from there."""
    sections = report["sections"]
    lines = [_row("verdict", _verdict(report))]
    for table in sections["data"]["tables"]:
        if table["same"]:
            continue
        name = _shown(table["uri"], root)
        was, now = _versions(table["original"]), _versions(table["rerun"])
        if table["original"] and table["rerun"] and was != now:
            text = f"{name} read at {_version_s(table['rerun'])} {now}, where the run read {_version_s(table['original'])} {was}"
        else:
            text = f"{name}: {table['note']}"
        lines.append(_row("data", text))
    if not sections["code"]["same"]:
        lines.append(_row("code", "the executed code differs"))
    for kind in ("params", "metrics"):
        for row in sections[kind]["values"]:
            if not row["same"]:
                old, new = _number(row["original"]), _number(row["rerun"])
                lines.append(_row(row["name"], f"{old} -> {new}"))
    outputs = sections["outputs"]
    for cell in outputs["cells"]:
        if cell["counted"]:
            lines.append(_row("outputs", f"{cell.get('label') or cell['cell']} printed otherwise"))
    for label in outputs.get("not_rerun") or []:
        lines.append(_row("outputs", f"{label} was not re-executed"))
    for row in (sections.get("model") or {}).get("models", []):
        if not row["same"]:
            lines.append(_row(_model(row), _model_differs(row)))
    failure = report.get("failure")
    if failure:
        lines.append(_row("failed", f"{failure['cell']}: {failure['ename']}: {failure['evalue']}"))
    lines.extend(_row("note", note) for note in report.get("notes") or [])
    return lines


def _model_differs(row: Mapping[str, Any]) -> str:
    if row.get("note"):
        return str(row["note"])
    predictions = row.get("predictions") or {}
    if predictions.get("same") is False:
        return f"other predictions on its {predictions.get('rows')} example rows"
    parts = [p for p in ("flavors", "signature", "requirements") if not row[p]["same"]]
    return f"its {', '.join(parts)} differ"


def _model(row: Mapping[str, Any]) -> str:
    return "model" if row["name"] == "model" else f"model {row['name']}"


def _shown(uri: str, root: Path) -> str:
    """A table's URI, relative to the demo's folder when it is a path under it."""
    path = Path(uri)
    return str(path.relative_to(root)) if path.is_relative_to(root) else uri


def _row(label: str, text: str, width: int = 13) -> str:
    return f"   {label:<{width}} {text}"


def _verdict(report: Mapping[str, Any]) -> str:
    differs = report.get("differs") or []
    return str(report["verdict"]).upper() + (f" in {', '.join(differs)}" if differs else "")


def _versions(reads: list[Mapping[str, Any]]) -> str:
    return ", ".join(str(r["version"]) for r in reads) or "none"


def _version_s(reads: list[Mapping[str, Any]]) -> str:
    return "versions" if len({r["version"] for r in reads}) > 1 else "version"


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_number(v)}" for k, v in sorted(values.items()))


def _number(value: Any) -> str:
    """A value as shown: floats to 4 decimals (the report keeps them exact)."""
    return str(round(value, 4)) if isinstance(value, float) else str(value)


def run_spark_demo(
    workdir: str | os.PathLike[str], say: Callable[[str], None] | None = None
) -> None:
    """The same story through Spark Connect, on a local Sail server started for it: a
    table written with Spark, a capture reading it with Spark, a nightly append through
    Spark, then a pinned rerun (it reproduces) and one on the latest data (it differs).

    Raises:
        NbreproError, DemoFailed: as :func:`run_demo`.
    """
    say = say or functools.partial(print, flush=True)
    root = Path(workdir).resolve()
    say(
        f"nbrepro demo with Spark, in {root}: a model trained on a Delta table read through "
        "Spark Connect, captured, then re-executed (about two minutes)"
    )
    with quiet_kernels():
        _spark_demo(root, say)


def _spark_demo(root: Path, say: Callable[[str], None]) -> None:
    from deltalake import DeltaTable

    from nbrepro.cli.sail import SailServer
    from nbrepro.paths import environ
    from nbrepro.reproduce.rerun import RerunOptions, rerun
    from nbrepro.store.tracking import check_reachable, display_uri, resolve_tracking_uri

    uri = resolve_tracking_uri()
    check_reachable(uri)
    root.mkdir(parents=True, exist_ok=True)
    table = root / "data" / "measurements"
    if table.exists():
        shutil.rmtree(table)
    notebook = copy_notebook(SPARK_NOTEBOOK, root)
    say("1. A Spark Connect server, and a Delta table written through it")
    with SailServer(root, log=root / "sail.log") as sail:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(sail.remote).getOrCreate()
        try:
            first = measurements(200, 0, seed=0)
            spark.createDataFrame(first).write.format("delta").save(str(table))
            say(_row("Spark Connect", f"{sail.remote} (Sail, started for the demo)"))
            say(_row("wrote", f"{table} @ version 0: {len(first)} measurements"))
            with environ({"SPARK_REMOTE": sail.remote}):
                say(
                    f"2. Running {SPARK_NOTEBOOK} in a fresh kernel: its %%repro cell reads "
                    "the table with Spark and fits a model ..."
                )
                started = time.time()
                execute_notebook(notebook, root / "demo_spark.executed.ipynb")
                run = captured_run(uri, notebook, started)
                run_id = run.info.run_id
                for line in capture_story(run, record_of(uri, run_id), display_uri(uri)):
                    say(line)

                say("3. The nightly job appends rows through Spark")
                more = measurements(50, len(first), seed=1)
                spark.createDataFrame(more).write.format("delta").mode("append").save(str(table))
                now = DeltaTable(str(table)).version()
                say(_row("appended", f"{table} @ version {now}: {len(more)} more measurements"))

                say(
                    f"4. Re-executing the run pinned to the data it read (nbrepro rerun {run_id}) ..."
                )
                pinned = rerun(run_id, uri, RerunOptions(data=PINNED)).report
                for line in pinned_story(pinned, now, root):
                    say(line)
                say(
                    f"5. Re-executing it on the latest data (nbrepro rerun {run_id} --data "
                    f"{LATEST}) ..."
                )
                latest = rerun(run_id, uri, RerunOptions(data=LATEST)).report
                for line in differences(latest, root):
                    say(line)
        finally:
            spark.stop()
    check_story(pinned, latest, uri, run_id)
    next_steps = {
        "the run as nbrepro recorded it:": f"nbrepro show {run_id}",
        "the MLflow UI on these runs:": "nbrepro ui   (then open http://127.0.0.1:5000)",
        "re-execute it again:": f"nbrepro rerun {run_id} --spark-remote sc://HOST:PORT",
    }
    say("")
    say("The demo's Spark Connect server is stopped. Where to look next:")
    for what, command in next_steps.items():
        say(_row(what, command, max(map(len, next_steps))))


# --- shared by both demos ---------------------------------------------------------------


# MLflow imports pyspark when it is installed, and pyspark warns about the pandas version
# as it is imported. The CLI filters that in its own process, and a kernel where nbrepro
# imported MLflow first never shows it; a rerun's kernel imports MLflow in the notebook's
# `import mlflow` cell, where it lands. Filtered for the kernels the demo starts.
KERNEL_WARNINGS = ("ignore:PySpark does not yet fully support pandas:FutureWarning",)


@contextlib.contextmanager
def quiet_kernels() -> Iterator[None]:
    """Python warnings filters for the processes started meanwhile (the kernels, their
    workers), added to any the user set: the demo's notebooks show their own output."""
    from nbrepro.paths import environ

    filters = [f for f in os.environ.get("PYTHONWARNINGS", "").split(",") if f]
    with environ({"PYTHONWARNINGS": ",".join([*filters, *KERNEL_WARNINGS])}):
        yield


def copy_notebook(name: str, root: Path) -> Path:
    """The packaged demo notebook ``name``, written into ``root`` (replacing a copy)."""
    notebook = root / name
    source = resources.files("nbrepro.demo_files").joinpath(name)
    notebook.write_text(source.read_text("utf-8"), "utf-8")
    return notebook


def execute_notebook(notebook: Path, executed: Path) -> None:
    """Run ``notebook`` into ``executed`` in a fresh kernel, in its own folder, as a user
    running its cells would: its ``%load_ext nbrepro`` and ``%%repro`` do the capture.

    Raises:
        NbreproError: a cell failed, or the kernel could not run it.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from nbrepro.paths import environ
    from nbrepro.reproduce.execute import KERNEL_ARGUMENTS

    # The kernel's log settings, without nbrepro's preloading: the notebook loads it.
    kernel_log = [arg for arg in KERNEL_ARGUMENTS if arg.startswith("--IPKernelApp.")]
    # The kernel finds its notebook through JPY_SESSION_NAME, as under Jupyter.
    with environ({"JPY_SESSION_NAME": str(notebook)}):
        try:
            pm.execute_notebook(
                str(notebook),
                str(executed),
                cwd=str(notebook.parent),
                progress_bar=False,
                extra_arguments=kernel_log,
            )
        except PapermillExecutionError as exc:
            where = cell_label(exc.cell_index, exc.exec_count)
            raise NbreproError(
                f"{notebook.name} failed in {where}: {exc.ename}: {exc.evalue}\n"
                f"(the executed notebook, with the traceback: {executed})"
            ) from exc
        except Exception as exc:  # the kernel died or could not start: papermill's errors
            raise NbreproError(
                f"{notebook.name} could not run: {type(exc).__name__}: {exc}"
            ) from exc


def captured_run(uri: str, notebook: Path, since: float) -> Any:
    """The newest run captured from ``notebook`` since ``since`` (seconds since the
    epoch): a run an earlier demo captured is not this one's."""
    from nbrepro.store.tracking import DEFAULT_EXPERIMENT, client_for, display_uri

    client = client_for(uri)
    exp = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    runs = client.search_runs(
        [exp.experiment_id] if exp else [],
        filter_string=f"tags.`{NOTEBOOK_TAG}` = '{notebook}' "
        f"and attributes.start_time >= {int(since * 1000)}",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise NbreproError(
            f"{notebook.name} ran, but its capture is not in {display_uri(uri)}: its "
            "executed copy shows what %%repro said"
        )
    return runs[0]


def record_of(uri: str, run_id: str) -> Any:
    """The record of run ``run_id``."""
    from nbrepro import record
    from nbrepro.store.tracking import client_for

    # Into a folder of its own that goes away: MLflow's default is a new one left in /tmp.
    with tempfile.TemporaryDirectory(prefix="nbrepro-demo-") as tmp:
        path = client_for(uri).download_artifacts(run_id, record.RECORD_ARTIFACT, tmp)
        return record.loads(Path(path).read_text("utf-8"))


def wait_for_artifact(uri: str, run_id: str, path: str, timeout: float) -> bool:
    """Whether artifact ``path`` of run ``run_id`` is stored, waiting up to ``timeout`` s
    for it (the kernel's worker uploads it after the capture's cell has returned)."""
    from nbrepro.store.tracking import client_for

    client = client_for(uri)
    folder = str(Path(path).parent)
    end = time.monotonic() + timeout
    while True:
        if any(f.path == path for f in client.list_artifacts(run_id, folder)):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.5)
