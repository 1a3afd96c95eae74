"""The nbrepro.delta_reads tag and the runs list's data drift, on real Delta tables."""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake
from helpers import api_check

from nbrepro.capture.delta import drift, tables
from nbrepro.record import delta_reads


def read(uri: str, version: int = 0, table_id: str | None = "t1") -> dict:
    return {"uri": uri, "version": version, "table_id": table_id}


def test_tag_lists_each_read_once_and_fits_an_mlflow_tag() -> None:
    tag = delta_reads.encode([read("/a"), read("/a"), read("/a", 1)])
    assert json.loads(tag) == [["/a", 0, "t1"], ["/a", 1, "t1"]]
    assert delta_reads.decode(tag) == ([("/a", 0, "t1", None), ("/a", 1, "t1", None)], 0)

    many = [read(f"s3://lake/{'x' * 80}/{i}", i) for i in range(300)]
    tag = delta_reads.encode(many)
    assert len(tag) <= 8000
    entries, dropped = delta_reads.decode(tag)
    assert dropped > 0 and len(entries) + dropped == 300
    assert entries[0] == (many[0]["uri"], 0, "t1", None)
    # An object-store table keeps how it was reached (never credentials).
    s3 = {**read("s3://lake/wine"), "storage_options": {"AWS_ENDPOINT_URL": "http://s3.local"}}
    tag = delta_reads.encode([s3])
    assert json.loads(tag) == [["s3://lake/wine", 0, "t1", {"AWS_ENDPOINT_URL": "http://s3.local"}]]
    assert delta_reads.decode(tag) == (
        [("s3://lake/wine", 0, "t1", {"AWS_ENDPOINT_URL": "http://s3.local"})],
        0,
    )


def test_unreadable_tags_are_unknown() -> None:
    for value in (None, "", "{", '{"a": 1}', '[["/a", "v0", null]]'):
        assert delta_reads.decode(value) is None
        assert drift.reads_changed(value)["data_changed"] is None


def test_reads_changed_on_real_tables(tmp_path: Path) -> None:
    table = str(tmp_path / "t")
    write_deltalake(table, pd.DataFrame({"x": [1]}))
    table_id = DeltaTable(table).metadata().id
    tag = delta_reads.encode([read(table, 0, table_id)])
    assert drift.reads_changed(tag) == {"data_changed": False, "changed_tables": [], "tables": 1}

    write_deltalake(table, pd.DataFrame({"x": [2]}), mode="append")
    # A local table's new commit shows at once, even within the cache's few seconds.
    assert drift.reads_changed(tag) == {
        "data_changed": True,
        "changed_tables": [table],
        "tables": 1,
    }

    shutil.rmtree(table)
    write_deltalake(table, pd.DataFrame({"x": [3]}))  # re-created at v0: another table id
    assert drift.reads_changed(tag)["changed_tables"] == [table]

    missing = delta_reads.encode([read(str(tmp_path / "gone"), 0, None)])
    assert drift.reads_changed(missing) == {"data_changed": None, "changed_tables": [], "tables": 1}


def test_a_local_tables_new_commit_is_seen_at_once_despite_the_cache(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    write_deltalake(uri, pd.DataFrame({"x": [1]}))
    assert tables.current_table(uri, max_age=3600) == (0, DeltaTable(uri).metadata().id)
    write_deltalake(uri, pd.DataFrame({"x": [2]}), mode="append")
    # A refresh right after the nightly append must show the move, not a cached v0.
    assert tables.current_table(uri, max_age=3600) == (1, DeltaTable(uri).metadata().id)


def test_a_hand_edited_tag_is_unknown_not_an_error() -> None:
    assert delta_reads.decode('[["/t", 0, null], {"dropped": "many"}]') is None
    assert drift.reads_changed('[{"dropped": "many"}]')["data_changed"] is None


def test_a_deleted_table_is_said_to_be_gone(tmp_path: Path) -> None:
    table = tmp_path / "t"
    write_deltalake(str(table), pd.DataFrame({"x": [1]}))
    read = {"uri": str(table), "version": 0, "table_id": None}
    assert drift.table_drift([read])[0]["state"] == "current"
    shutil.rmtree(table)
    [row] = drift.table_drift([read])
    assert row["state"] == "unavailable"
    assert "gone" in row["detail"] and "TableNotFoundError" not in row["detail"]


def _vacuumed(path: Path) -> str:
    """v0 (20 files), overwritten at v1, then vacuumed: v0 can no longer be read."""
    for i in range(20):
        write_deltalake(path, pd.DataFrame({"x": [i]}), mode="append")
    write_deltalake(path, pd.DataFrame({"x": [-1]}), mode="overwrite")
    table_id = str(DeltaTable(path).metadata().id)
    DeltaTable(path).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    return table_id


def test_a_vacuumed_version_is_marked_as_no_longer_pinnable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept, lost = tmp_path / "kept", tmp_path / "lost"
    write_deltalake(kept, pd.DataFrame({"x": [1]}))
    write_deltalake(kept, pd.DataFrame({"x": [2]}), mode="append")
    kept_id = str(DeltaTable(kept).metadata().id)
    lost_id = _vacuumed(lost)
    rows = drift.table_drift([read(str(kept), 0, kept_id), read(str(lost), 19, lost_id)])
    for row in rows:
        api_check(row, "TableDrift")
    assert rows[0]["state"] == "moved" and rows[0]["pin"] == {
        "readable": True,
        "reason": None,
        "detail": "",
    }
    pin = rows[1]["pin"]
    assert (pin["readable"], pin["reason"]) == (False, "files_missing")
    assert "20 of 20 data files are missing" in pin["detail"]
    # A current table needs no check: every file it reads is live.
    assert "pin" not in drift.table_drift([read(str(kept), 1, kept_id)])[0]

    # The cost, on a 20-file table: the version's log loaded and 20 stats.
    runs = []
    for _ in range(20):
        start = time.perf_counter()
        drift.pin_check(read(str(lost), 19, lost_id))
        runs.append(time.perf_counter() - start)
    with capsys.disabled():
        print(
            f"\npin check of a vacuumed 20-file local table: {statistics.median(runs) * 1e3:.1f} ms"
        )


def test_a_version_whose_log_was_cleaned_up_is_marked(tmp_path: Path) -> None:
    path = tmp_path / "t"
    for i in range(3):
        write_deltalake(path, pd.DataFrame({"x": [i]}), mode="append")
    DeltaTable(path).create_checkpoint()
    (path / "_delta_log" / f"{0:020d}.json").unlink()
    table_id = str(DeltaTable(path).metadata().id)
    (row,) = drift.table_drift([read(str(path), 0, table_id)])
    assert row["state"] == "moved"
    assert (row["pin"]["readable"], row["pin"]["reason"]) == (False, "version_unavailable")


@pytest.mark.team
def test_a_vacuumed_version_on_s3_is_marked_after_a_few_requests(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbrepro.capture.delta.changes import log_between
    from nbrepro.capture.delta.tables import REMOTE_FILES_CHECKED

    uri = f"s3://lake/pins-{time.monotonic_ns()}"
    options = s3.storage_options()
    for i in range(20):
        write_deltalake(uri, pd.DataFrame({"x": [i]}), mode="append", storage_options=options)
    table_id = str(DeltaTable(uri, storage_options=options).metadata().id)
    recorded = {"endpoint_url": s3.endpoint, "allow_http": "true", "region": s3.region}
    # nbrepro opens it as recorded (no keys), the keys from the environment.
    with pytest.MonkeyPatch.context() as env:
        for key, value in s3.env().items():
            env.setenv(key, value)
        row = {**read(uri, 19, table_id), "storage_options": recorded}
        write_deltalake(uri, pd.DataFrame({"x": [1]}), mode="append", storage_options=options)
        assert drift.pin_check(row)["readable"] is True  # v19's files are all live
        changes = log_between(uri, table_id, 19, 20, recorded)
        assert (changes["rows_added"], changes["files_added"]) == (1, 1)
        write_deltalake(uri, pd.DataFrame({"x": [1]}), mode="overwrite", storage_options=options)
        DeltaTable(uri, storage_options=options).vacuum(
            retention_hours=0, enforce_retention_duration=False, dry_run=False
        )
        start = time.perf_counter()
        pin = drift.pin_check(row)
        took = time.perf_counter() - start
    assert (pin["readable"], pin["reason"]) == (False, "files_missing")
    assert f"of the {REMOTE_FILES_CHECKED} data files checked are missing" in pin["detail"]
    with capsys.disabled():
        print(f"\npin check of a vacuumed 20-file table on S3 (moto): {took * 1e3:.1f} ms")
