"""The nbrepro.delta_reads tag and the runs list's data drift, on real Delta tables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable, write_deltalake

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
