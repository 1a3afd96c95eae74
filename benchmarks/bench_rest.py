"""REST calls one capture makes against a real `mlflow server`, by size of the run.

Counted in the kernel at the HTTP layer (every request MLflow's client sends,
artifact uploads included), for a small capture and for one with 50 tags and
3 Delta reads: batch calls keep the count constant.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import Result
from nbrepro.testing import Kernel, MlflowServer

COUNTER = """
import requests as _rq
_calls = []
_orig = _rq.Session.request
def _counting(self, method, url, *a, **kw):
    _calls.append((method, url.split("/api/")[-1] if "/api/" in url else url))
    return _orig(self, method, url, *a, **kw)
_rq.Session.request = _counting
"""

READ = """
import pandas as pd
from deltalake import DeltaTable, write_deltalake
write_deltalake(f"{root}/{name}", pd.DataFrame({"x": range(10)}), mode="append")
DeltaTable(f"{root}/{name}").to_pandas()
"""


def _capture(k: Kernel, tags: int) -> list[str]:
    tag_args = " ".join(f"-t k{i}=v{i}" for i in range(tags))
    k.ok("_calls.clear()")
    k.ok(f"%%repro -e rest {tag_args}\nx = 1")
    k.ok("from nbrepro.store.tracking import wait_for_uploads\nwait_for_uploads(60)")
    return k.ok("print('\\n'.join(f'{m} {u}' for m, u in _calls))").stdout.splitlines()


def run(workdir: Path) -> list[Result]:
    server = MlflowServer(workdir / "server")
    server.start()
    try:
        return count(workdir, server.uri, "")
    finally:
        server.stop()


def count(workdir: Path, uri: str, where: str) -> list[Result]:
    """REST calls of a small and a large capture against the server at ``uri``."""
    workdir.mkdir(parents=True, exist_ok=True)
    k = Kernel(workdir, dict(os.environ, MLFLOW_TRACKING_URI=uri))
    try:
        k.ok("%load_ext nbrepro")
        k.ok("%config ReproMagics.show_summary = False")
        k.ok(f"root = {str(workdir)!r}")
        k.ok(COUNTER)
        _capture(k, 0)  # warm-up: creates the experiment
        k.ok("name = 'a'\n" + READ)
        small = _capture(k, 1)
        for name in ("b", "c", "d", "e"):
            k.ok(f"name = {name!r}\n" + READ)
        large = _capture(k, 50)
    finally:
        k.shutdown()
    constant = len(small) == len(large)
    return [
        Result(
            "REST calls per capture: 50 tags + 5 Delta reads / 1 tag + 1 read" + where,
            f"{len(large)} calls",
            f"{len(small)} calls",
            len(large) / len(small),
            "constant (1.0)",
            constant,
            notes="counted in the kernel; nbrepro's worker process adds one PUT of "
            "nbrepro/notebook.html per capture. Calls of the large capture: " + "; ".join(large),
        )
    ]
