"""``nbrepro demo`` as a newcomer runs it: one command tells the whole story (a capture,
a nightly append, a pinned rerun that reproduces, a rerun on the latest data that
differs) on the default store, and prints nothing else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat
import pytest
from helpers import api_check, nbrepro_cli
from mlflow import MlflowClient

from nbrepro import record
from nbrepro.cli.render import render_rows
from nbrepro.record.tags import DATA_MODE_TAG, LAST_VERDICT_TAG, REPRODUCES_TAG, VERDICT_TAG
from nbrepro.record.vocabulary import DIFFERS, EXIT_FAILED, LATEST, PINNED, REPRODUCED
from nbrepro.store.listing import list_runs


@dataclass
class Demo:
    home: Path
    folder: Path
    code: int
    stdout: str
    stderr: str

    def step(self, number: int) -> list[str]:
        """The lines of step ``number``: its heading, then its rows."""
        lines = self.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{number}. "))
        end = next(
            (i for i, line in enumerate(lines[start + 1 :], start + 1) if not line.startswith(" ")),
            len(lines),
        )
        return lines[start:end]

    def row(self, number: int, label: str) -> str:
        """The text of the first row ``label`` of step ``number``."""
        for line in self.step(number)[1:]:
            if line.strip().startswith(f"{label} "):
                return line.strip()[len(label) :].strip()
        raise AssertionError(f"no row {label!r} in step {number}: {self.step(number)}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One demo, run as a user runs it, on a fresh default store: shared by the tests."""
    home = tmp_path_factory.mktemp("demo-home") / "nbrepro-home"
    folder = tmp_path_factory.mktemp("demo") / "demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBREPRO_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        res = nbrepro_cli("demo", "--dir", str(folder))
    return Demo(home, folder, res.returncode, res.stdout, res.stderr)


def test_the_demo_ends_well_and_prints_nothing_but_its_story(demo: Demo) -> None:
    assert demo.code == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    for line in (demo.stdout + demo.stderr).splitlines():
        assert "Traceback" not in line
        assert "WARNING" not in line
        assert not re.search(r"Warning\b:", line), line
    assert demo.stderr == ""


def test_the_capture_is_told(demo: Demo) -> None:
    table = demo.folder / "data" / "wine"
    assert demo.row(1, "wrote") == f"{table} @ version 0: 120 of the 178 wines"
    assert demo.row(2, "it read") == f"{table} @ version 0"
    assert demo.row(2, "cells").startswith("3 executed cells captured")
    assert "rows=120" in demo.row(2, "params")
    assert demo.row(2, "metrics").startswith("accuracy=")
    assert demo.row(2, "stored in") == f"sqlite:///{demo.home}/mlflow.db"
    assert demo.row(3, "appended") == f"{table} @ version 1: 58 more wines"


def test_the_pinned_rerun_reproduces_the_run_and_says_why(demo: Demo) -> None:
    run_id = demo.row(2, "captured run").split()[0]
    assert demo.step(4)[0].endswith(f"(nbrepro rerun {run_id}) ...")
    assert demo.row(4, "verdict") == REPRODUCED.upper()
    accuracy = demo.row(2, "metrics").removeprefix("accuracy=")
    assert demo.row(4, "accuracy") == f"{accuracy}, identical"
    assert demo.row(4, "model").startswith("the same predictions")
    assert demo.row(4, "why") == (
        "pinned to version 0 of data/wine, the version the run read; the table is now at version 1"
    )


def test_the_latest_rerun_differs_and_names_the_data_first(demo: Demo) -> None:
    assert demo.step(5)[0].endswith(f"--data {LATEST}) ...")
    assert demo.row(5, "verdict").startswith(f"{DIFFERS.upper()} in data, ")
    rows = [line.split()[0] for line in demo.step(5)[1:]]
    assert rows[:2] == ["verdict", "data"]
    assert demo.row(5, "data") == "data/wine read at version 1, where the run read version 0"
    assert demo.row(5, "rows") == "120 -> 178"
    before = demo.row(2, "metrics").removeprefix("accuracy=")
    assert re.fullmatch(rf"{re.escape(before)} -> [\d.]+", demo.row(5, "accuracy"))
    assert rows.index("data") < rows.index("accuracy")


def test_the_runs_are_stored_complete(demo: Demo) -> None:
    run_id = demo.row(2, "captured run").split()[0]
    client = MlflowClient(f"sqlite:///{demo.home}/mlflow.db")
    html = record.ARTIFACT_PATHS["html"]
    folder = str(Path(html).parent)
    assert html in [f.path for f in client.list_artifacts(run_id, folder)]
    original = client.get_run(run_id)
    assert original.data.params["rows"] == "120"
    assert original.data.tags[LAST_VERDICT_TAG] == DIFFERS
    reruns = client.search_runs(
        [original.info.experiment_id], filter_string=f"tags.`{REPRODUCES_TAG}` = '{run_id}'"
    )
    verdicts = {r.data.tags[DATA_MODE_TAG]: r.data.tags[VERDICT_TAG] for r in reruns}
    assert verdicts == {PINNED: REPRODUCED, LATEST: DIFFERS}
    # Reruns are named by the data they read, the latest's once it has read it.
    base = original.info.run_name
    names = {r.data.tags[DATA_MODE_TAG]: r.info.run_name for r in reruns}
    assert names == {PINNED: f"rerun of {base} · pinned v0", LATEST: f"rerun of {base} · latest v1"}
    assert all(r.info.status == "FINISHED" for r in reruns)
    assert (demo.folder / "demo.executed.ipynb").is_file()


def test_the_packaged_notebook_is_clean() -> None:
    text = resources.files("nbrepro.demo_files").joinpath("demo.ipynb").read_text("utf-8")
    nb = nbformat.reads(text, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "tests/" not in text and "/tmp" not in text
    assert any(c.source.startswith("%%repro") for c in code)


def test_a_store_out_of_reach_stops_the_demo_with_one_message(
    tmp_path: Path, nbrepro_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    res = nbrepro_cli("demo", "--dir", str(tmp_path / "demo"))
    assert res.returncode == EXIT_FAILED
    assert res.stderr.splitlines() == [
        "Error: tracking store http://127.0.0.1:9 is unavailable: cannot connect (ConnectionError)"
    ]
    assert "Traceback" not in res.stdout


def test_the_list_tells_the_pinned_and_the_latest_outcome_apart(demo: Demo) -> None:
    """A pinned rerun that reproduced, then a latest one that differs: the original's
    row does not say only "differs" (which reads as "does not reproduce")."""
    run_id = demo.row(2, "captured run").split()[0]
    page = list_runs(f"sqlite:///{demo.home}/mlflow.db")
    rows = {row["run_id"]: api_check(row, "RunRow") for row in page.rows}
    outcomes = rows[run_id]["outcomes"]
    assert outcomes["pinned"]["verdict"] == REPRODUCED and outcomes["pinned"]["data"] == "v0"
    assert outcomes["latest"]["verdict"] == DIFFERS and outcomes["latest"]["data"] == "v1"
    assert rows[outcomes["latest"]["rerun_id"]]["data_mode"] == LATEST
    assert rows[outcomes["pinned"]["rerun_id"]]["data_mode"] == PINNED
    assert rows[outcomes["pinned"]["rerun_id"]]["outcomes"] is None  # a rerun has none
    # `nbrepro list` says both too.
    line = next(x for x in render_rows(page.rows).splitlines() if run_id in x)
    assert "reproduced (pinned)" in line and line.endswith("[differs on latest v1]")


def test_the_spark_demo_tells_the_same_story(tmp_path: Path) -> None:
    """`nbrepro demo --spark` (make demo-spark): the table written and appended through
    Spark Connect, read with Spark by the capture; the same five steps, nothing else."""
    pytest.importorskip("pysail")
    home, folder = tmp_path / "nbrepro-home", tmp_path / "demo-spark"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBREPRO_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("SPARK_REMOTE", raising=False)
        res = nbrepro_cli("demo", "--spark", "--dir", str(folder))
    spark = Demo(home, folder, res.returncode, res.stdout, res.stderr)
    assert spark.code == 0, spark.stdout[-3000:] + spark.stderr[-3000:]
    for line in (spark.stdout + spark.stderr).splitlines():
        assert "Traceback" not in line and "WARNING" not in line, line
        assert not re.search(r"Warning\b:", line), line
    table = folder / "data" / "measurements"
    assert spark.row(1, "wrote") == f"{table} @ version 0: 200 measurements"
    assert spark.row(2, "it read").startswith(f"{table} @ version 0 (through spark")
    assert spark.row(3, "appended") == f"{table} @ version 1: 50 more measurements"
    assert spark.row(4, "verdict") == REPRODUCED.upper()
    assert spark.row(4, "why").startswith("pinned to version 0 of data/measurements")
    assert spark.row(5, "verdict").startswith(f"{DIFFERS.upper()} in data")
    # The notebook also reads versionAsOf 0 itself: that read stays at 0.
    assert spark.row(5, "data") == (
        "data/measurements read at versions 0, 1, where the run read version 0"
    )
    assert "nbrepro rerun" in spark.stdout and "--spark-remote" in spark.stdout
