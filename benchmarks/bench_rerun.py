"""Re-execution and comparison costs.

- `nbrepro rerun` (current env) over plain `papermill` of the same (replay) notebook,
  both run from the shell, interleaved.
- The second `--env recorded` rerun (cached environment) over `--env current`.
- `nbrepro diff` at 100 and 1,000 executed cells: growth should be at most linear.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from deltalake import write_deltalake

from benchmarks.common import Result
from nbrepro import paths
from nbrepro.testing import Kernel

TRAIN = (
    "%%repro --name bench --seed 0\n"
    "import mlflow\nfrom deltalake import DeltaTable\n"
    "df = DeltaTable(TABLE).to_pandas()\n"
    "mlflow.log_metric('total', float(df.x.sum()))\nprint(len(df))"
)


def _shell(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0,):
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def _capture(workdir: Path, cells: int) -> str:
    from mlflow import MlflowClient

    table = workdir / "t"
    if not table.exists():
        write_deltalake(str(table), pd.DataFrame({"x": range(1000)}))
    k = Kernel(workdir, dict(os.environ))
    try:
        k.ok("%load_ext nbrepro")
        k.ok("%config ReproMagics.show_summary = False")
        k.ok(f"TABLE = {str(table)!r}")
        for i in range(cells - 4):
            k.ok(f"v{i} = {i}")
        k.ok(TRAIN)
        k.ok("from nbrepro.store.tracking import wait_for_uploads\nwait_for_uploads(60)")
    finally:
        k.shutdown()
    client = MlflowClient(paths.default_tracking_uri())
    exp = client.get_experiment_by_name("nbrepro")
    assert exp is not None, "the capture made no nbrepro experiment"
    return str(
        client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])[
            0
        ].info.run_id
    )


def run(workdir: Path, repeats: int = 5) -> list[Result]:
    from mlflow import MlflowClient

    workdir.mkdir(parents=True, exist_ok=True)
    run_id = _capture(workdir, 8)
    replay = Path(
        MlflowClient(paths.default_tracking_uri()).download_artifacts(
            run_id, "nbrepro/replay.ipynb", str(workdir)
        )
    )
    nbrepro = [sys.executable, "-m", "nbrepro.cli", "rerun", run_id, "--json"]
    papermill = [
        sys.executable,
        "-m",
        "papermill",
        "--no-progress-bar",
        str(replay),
        str(workdir / "pm-out.ipynb"),
        "--cwd",
        str(workdir),
    ]
    _shell(nbrepro)  # warm caches on both sides
    _shell(papermill)
    rerun_t, pm_t = [], []
    for _ in range(repeats):
        rerun_t.append(_shell(nbrepro))
        pm_t.append(_shell(papermill))
    r, p = statistics.median(rerun_t), statistics.median(pm_t)
    results = [
        Result(
            "nbrepro rerun (current env) / plain papermill, from the shell",
            f"{r:.2f} s",
            f"{p:.2f} s",
            r / p,
            "<= 1.25",
            r / p <= 1.25,
            notes="the same replay notebook (8 cells, one Delta read, a %%repro cell); "
            "nbrepro also loads the run, checks pins, logs the rerun and compares",
        )
    ]

    _shell([*nbrepro[:-1], "--env", "recorded", "--json"])  # build (not measured)
    rec_t, cur_t = [], []
    for _ in range(repeats):
        rec_t.append(_shell([*nbrepro[:-1], "--env", "recorded", "--json"]))
        cur_t.append(_shell(nbrepro))
    rr, cc = statistics.median(rec_t), statistics.median(cur_t)
    results.append(
        Result(
            "second rerun --env recorded (cached env) / --env current",
            f"{rr:.2f} s",
            f"{cc:.2f} s",
            rr / cc,
            "<= 1.5",
            rr / cc <= 1.5,
        )
    )

    from nbrepro.reproduce.rerun import diff

    times = {}
    for cells in (100, 1000):
        a, b = _capture(workdir, cells), _capture(workdir, cells)
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            diff(a, b, paths.default_tracking_uri())
            samples.append(time.perf_counter() - start)
        times[cells] = statistics.median(samples)
    growth = times[1000] / times[100]
    results.append(
        Result(
            "nbrepro diff: 1,000 cells / 100 cells",
            f"{times[1000]:.2f} s",
            f"{times[100]:.2f} s",
            growth,
            "<= 10 (linear)",
            growth <= 10,
            notes="two captured runs of the same session length, compared in process",
        )
    )
    return results
