"""A team deployment: `mlflow server` on PostgreSQL with artifacts on S3 (moto), all on
127.0.0.1. The warm capture against a bare run storing the same bytes, the REST calls per
capture, and the first capture in a fresh kernel against `import mlflow` and one bare run.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks import bench_capture, bench_rest
from benchmarks.common import Result
from nbrepro.testing import Kernel, MlflowServer
from nbrepro.testing_team import PostgresCluster, S3Server

STORE = "team server: mlflow server on PostgreSQL, artifacts served from S3 (moto)"

FIRST_CAPTURE = """
import time as _t
_s = _t.perf_counter()
get_ipython().run_line_magic("load_ext", "nbrepro")
get_ipython().run_cell_magic("repro", "--name first", "x = 1")
print(_t.perf_counter() - _s)
"""
FIRST_BARE = """
import time as _t
_s = _t.perf_counter()
import mlflow
mlflow.set_experiment("bare")
with mlflow.start_run(run_name="bare"):
    mlflow.log_param("x", 1)
print(_t.perf_counter() - _s)
"""


def _fresh(workdir: Path, env: dict[str, str], code: str) -> float:
    k = Kernel(workdir, env)
    try:
        k.ok("%config ReproMagics.show_summary = False" if "repro" in code else "pass")
        return float(k.ok(code).stdout.strip().splitlines()[-1])
    finally:
        k.shutdown()


def _first(workdir: Path, env: dict[str, str], repeats: int = 3) -> Result:
    workdir.mkdir(parents=True, exist_ok=True)
    _fresh(workdir, env, FIRST_CAPTURE)  # the experiments exist from here on
    _fresh(workdir, env, FIRST_BARE)
    first, bare = [], []
    for _ in range(repeats):  # interleaved so machine load hits both alike
        first.append(_fresh(workdir, env, FIRST_CAPTURE))
        bare.append(_fresh(workdir, env, FIRST_BARE))
    f, b = sorted(first)[len(first) // 2], sorted(bare)[len(bare) // 2]
    return Result(
        "first capture in a fresh kernel (load_ext + %%repro) / import mlflow + one bare run"
        " (team server)",
        f"{f * 1000:.0f} ms",
        f"{b * 1000:.0f} ms",
        f / b,
        "<= 1.5",
        f / b <= 1.5,
        notes=f"{STORE}; fresh kernels, {repeats} each, kernel start not counted; the bare "
        "run sets its experiment and logs one param.",
    )


def run(workdir: Path) -> list[Result]:
    pg = PostgresCluster(workdir / "pg").start()
    s3 = S3Server(workdir / "s3").start()
    server = None
    try:
        s3.create_bucket("mlflow")
        server = MlflowServer(
            workdir / "server",
            backend_store_uri=pg.create_database("mlflow"),
            artifacts_destination="s3://mlflow/",
            env=s3.env(),
        ).start()
        env = dict(os.environ, MLFLOW_TRACKING_URI=server.uri)
        results = bench_capture.measure(workdir / "capture", env, STORE, repeats=7)
        results += bench_rest.count(workdir / "rest", server.uri, " (team server)")
        results.append(_first(workdir / "first", env))
        return results
    finally:
        if server is not None:
            server.stop()
        s3.stop()
        pg.stop()
