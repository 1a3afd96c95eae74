"""Delta reads and writes of a kernel session, as recorded in a captured run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import latest_run, run_record

from nbrepro import paths

pytestmark = pytest.mark.kernel


def test_session_reads_and_writes_are_recorded(
    kernel_factory, nbrepro_home: Path, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    store = paths.default_tracking_uri()
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    k.ok(
        "import shutil, pandas as pd, polars as pl\n"
        "from deltalake import DeltaTable, write_deltalake\n"
        f"root = {str(tmp_path)!r}\n"
        "for i in range(3):\n"
        "    write_deltalake(f'{root}/sales', pd.DataFrame({'x': [i]}), mode='append')\n"
        "write_deltalake(f'{root}/users', pd.DataFrame({'u': [1]}))"
    )
    k.ok("latest = DeltaTable(f'{root}/sales').to_pandas()")
    k.ok("first = DeltaTable(f'{root}/sales', version=0).to_pandas()")
    k.ok("users = pl.read_delta(f'{root}/users')")
    k.ok("old_id = DeltaTable(f'{root}/users').metadata().id")
    # Re-create `users` at the same path: versions restart at 0 under a new table id.
    k.ok(
        "shutil.rmtree(f'{root}/users')\n"
        "write_deltalake(f'{root}/users', pd.DataFrame({'u': [2, 3]}))\n"
        "again = pl.scan_delta(f'{root}/users').collect()"
    )
    r = k.ok(
        "%%repro --name delta\n"
        "write_deltalake(f'{root}/scores', pd.DataFrame({'s': [len(latest) + len(again)]}))"
    )
    summary = next(o["data"]["text/plain"] for o in r.outputs if "data" in o)
    assert "sales @ v2" in summary and "sales @ v0" in summary

    run = latest_run(store)
    rec = run_record(store, run.info.run_id)
    reads = {(Path(x["uri"]).name, x["version"], x["table_id"]): x for x in rec["data"]["reads"]}
    sales = [x for (name, _, _), x in reads.items() if name == "sales"]
    assert sorted(x["version"] for x in sales) == [0, 2]
    v0 = next(x for x in sales if x["version"] == 0)
    v2 = next(x for x in sales if x["version"] == 2)
    assert v0["pinned_by_user"] is True and v0["requested_version"] == 0
    assert v2["pinned_by_user"] is False and v2["latest_at_read"] is True
    assert v0["file_fingerprint"] != v2["file_fingerprint"]
    assert v0["commit_timestamp"] and v2["commit_timestamp"]
    users = [x for (name, _, _), x in reads.items() if name == "users"]
    assert len(users) == 2 and len({x["table_id"] for x in users}) == 2  # re-created: new id
    assert all(x["version"] == 0 for x in users)
    assert {x["via"] for x in users} == {"polars"}
    old_id = k.ok("print(old_id)").stdout.strip()
    assert old_id in {x["table_id"] for x in users}
    writes = rec["data"]["writes"]
    assert [(Path(w["uri"]).name, w["version"]) for w in writes][-1] == ("scores", 0)
    assert run.data.tags["nbrepro.delta_tables"] == "4"
    # The compact read list the runs list computes drift from: one entry per read.
    tagged = json.loads(run.data.tags["nbrepro.delta_reads"])
    assert sorted(map(tuple, tagged)) == sorted(
        (x["uri"], x["version"], x["table_id"]) for x in rec["data"]["reads"]
    )

    inputs = MlflowClient(store).get_run(run.info.run_id).inputs.dataset_inputs
    names = sorted(d.dataset.name for d in inputs)
    assert names == ["sales@v0", "sales@v2", "users@v0", "users@v0"]
