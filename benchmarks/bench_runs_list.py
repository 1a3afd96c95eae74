"""The sidebar's runs list on an experiment of 10,000 runs, against MLflow's own search.

A real Jupyter server with nbrepro's extension answers ``GET /nbrepro/runs`` over
HTTP; the baseline is ``MlflowClient.search_runs`` for the same page (same filter,
order, page size and token) called in this process on the same SQLite store.
Measurements are interleaved, so the machine's noise hits both alike.

The 10,000 runs are written straight into MLflow's SQLite schema through its own
ORM models in one transaction (creating them through the client would take
minutes); each carries the tags a capture writes, one metric, and one Delta read
of a real table, so the endpoint does its drift check too.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import Result

RUNS = 10_000
NOTEBOOKS = 10
PAGE = 50
ROUNDS = 25
TARGET = 1.3


def _populate(uri: str, table_uri: str, table_id: str, workdir: Path) -> str:
    import mlflow
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlRun,
        SqlTag,
    )
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    client = mlflow.MlflowClient(uri)
    exp_id = client.create_experiment("bench-list", artifact_location=str(workdir / "art"))
    store = SqlAlchemyStore(uri, str(workdir / "art"))
    now = int(time.time() * 1000) - RUNS * 1000
    reads = json.dumps([[table_uri, 0, table_id]])
    with store.ManagedSessionMaker() as session:
        for i in range(RUNS):
            run_id = uuid.uuid4().hex
            start = now + i * 1000
            session.add(
                SqlRun(
                    run_uuid=run_id,
                    name=f"run-{i}",
                    experiment_id=int(exp_id),
                    source_type="NOTEBOOK",
                    source_name="",
                    entry_point_name="",
                    user_id="bench",
                    status="FINISHED",
                    start_time=start,
                    end_time=start + 500,
                    source_version="",
                    lifecycle_stage="active",
                    artifact_uri=str(workdir / "art" / run_id),
                )
            )
            tags = {
                "nbrepro.capture_id": uuid.uuid4().hex,
                "nbrepro.notebook": str(workdir / f"nb{i % NOTEBOOKS}.ipynb"),
                "nbrepro.hidden_state": "false",
                "nbrepro.delta_reads": reads,
                "mlflow.runName": f"run-{i}",
            }
            session.add_all([SqlTag(run_uuid=run_id, key=k, value=v) for k, v in tags.items()])
            value = 1.0 / (i + 1)
            session.add(
                SqlMetric(run_uuid=run_id, key="rmse", value=value, timestamp=start, step=0)
            )
            session.add(
                SqlLatestMetric(run_uuid=run_id, key="rmse", value=value, timestamp=start, step=0)
            )
    return exp_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _JupyterServer:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.log = open(root / "jupyter.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.jpserver_extensions={'nbrepro': True}",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.token}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if self.http.get(self.base + "/nbrepro/version", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter server did not start; see {root / 'jupyter.log'}")

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.get(self.base + path, params=params, timeout=60)
        if not resp.ok:
            raise RuntimeError(f"GET {path} answered {resp.status_code}: {resp.text[:2000]}")
        return dict(resp.json())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _search(client: Any, exp_id: str, notebook: str | None, token: str | None) -> Any:
    """The page as MLflow's own search gives it: the filter and order the endpoint uses."""
    filters = ["tags.`nbrepro.capture_id` LIKE '%'"]
    if notebook:
        filters.append(f"tags.`nbrepro.notebook` = '{notebook}'")
    return client.search_runs(
        [exp_id],
        " and ".join(filters),
        order_by=["attributes.start_time DESC"],
        max_results=PAGE,
        page_token=token,
    )


def run(workdir: Path) -> list[Result]:
    import mlflow
    import pandas as pd
    from deltalake import DeltaTable, write_deltalake

    workdir.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    table = str(workdir / "table")
    write_deltalake(table, pd.DataFrame({"x": range(10)}))
    write_deltalake(table, pd.DataFrame({"x": range(10)}), mode="append")  # data has moved
    table_id = str(DeltaTable(table).metadata().id)
    t0 = time.perf_counter()
    exp_id = _populate(uri, table, table_id, workdir)
    populate_s = time.perf_counter() - t0

    client = mlflow.MlflowClient(uri)
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    server = _JupyterServer(workdir, env)
    results = []
    try:
        notebook = str(workdir / "nb3.ipynb")
        for label, nb in (("experiment", None), ("one notebook's", notebook)):
            # A first page and a deep one (page 20 of the experiment, page 5 of a notebook).
            depth = 20 if nb is None else 5
            token = None
            for _ in range(depth - 1):
                token = _search(client, exp_id, nb, token).token
            for page_name, page_token in (("first page", None), (f"page {depth}", token)):
                params: dict[str, Any] = {"experiment": "bench-list", "max_results": PAGE}
                if nb:
                    params["notebook"] = Path(nb).name
                if page_token:
                    params["page_token"] = page_token
                ours: list[float] = []
                theirs: list[float] = []
                body = server.get("/nbrepro/runs", params)  # warm-up both
                _search(client, exp_id, nb, page_token)
                for _ in range(ROUNDS):
                    t = time.perf_counter()
                    body = server.get("/nbrepro/runs", params)
                    ours.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    page = _search(client, exp_id, nb, page_token)
                    theirs.append(time.perf_counter() - t)
                assert len(body["runs"]) == PAGE == len(page)
                assert [r["run_id"] for r in body["runs"]] == [r.info.run_id for r in page]
                changed = sum(1 for r in body["runs"] if r.get("data_changed"))
                a, b = statistics.median(ours), statistics.median(theirs)
                results.append(
                    Result(
                        f"runs list, {label} {page_name} of {PAGE} ({RUNS:,} runs) / "
                        "MLflow search_runs",
                        f"{a * 1000:.1f} ms",
                        f"{b * 1000:.1f} ms",
                        a / b,
                        f"<= {TARGET}",
                        a / b <= TARGET,
                        notes=(
                            f"GET /nbrepro/runs over HTTP on a real Jupyter server (rows with "
                            f"verdict, headline metrics and data drift: {changed} of {PAGE} "
                            f"flagged as changed) vs search_runs in process, same filter and "
                            f"page token; median of {ROUNDS}, interleaved; the {RUNS:,} runs "
                            f"took {populate_s:.1f} s to write"
                        ),
                    )
                )
    finally:
        server.stop()
    return results
