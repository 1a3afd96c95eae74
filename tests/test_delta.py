"""nbrepro.capture.delta (the watcher, uris, pins) against real Delta tables written with deltalake in tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import deltalake
import deltalake.writer
import deltalake.writer.writer
import pandas as pd
import polars as pl
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from nbrepro.capture.delta.tables import check_pins
from nbrepro.capture.delta.uri import normalize_uri
from nbrepro.capture.delta.watcher import DeltaWatcher, PinnedTableMismatch

REPO = Path(__file__).resolve().parents[1]


def _df(start: int, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(start, start + n))})


def _table_id(path: Path) -> str:
    return str(DeltaTable(path).metadata().id)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A table with versions 0, 1, 2 holding 3, 6 and 9 rows."""
    path = tmp_path / "t"
    write_deltalake(path, _df(0))
    write_deltalake(path, _df(3), mode="append")
    write_deltalake(path, _df(6), mode="append")
    return path


@pytest.fixture
def watcher() -> Iterator[DeltaWatcher]:
    w = DeltaWatcher()
    w.install()
    yield w
    w.uninstall()


# --- install / uninstall -------------------------------------------------------------

_BEFORE_IMPORT = """
import json, sys
import nbrepro, nbrepro.capture.delta.watcher as d
imported_early = "deltalake" in sys.modules
w = d.DeltaWatcher()
w.install()
w.install()
hooks = sum(isinstance(f, d.ImportHook) and f.name == "deltalake" for f in sys.meta_path)
import pandas as pd
import deltalake
from deltalake import DeltaTable, write_deltalake
write_deltalake(sys.argv[1], pd.DataFrame({"x": [1, 2]}))
DeltaTable(sys.argv[1]).version()  # (to_pyarrow_table() aborts this env at exit)
print(json.dumps({
    "imported_early": imported_early,
    "hooks_before": hooks,
    "hooks_after": sum(isinstance(f, d.ImportHook) and f.name == "deltalake" for f in sys.meta_path),
    "spark_hook": sum(isinstance(f, d.ImportHook) and f.name != "deltalake" for f in sys.meta_path),
    "loader": type(deltalake.__loader__).__name__,
    "patched": hasattr(DeltaTable.__init__, "__wrapped__"),
    "reads": w.reads(), "writes": w.writes(), "notes": w.notes,
}))
"""


def test_install_before_import_patches_on_first_import(tmp_path: Path) -> None:
    path = tmp_path / "t"
    proc = subprocess.run(
        [sys.executable, "-c", _BEFORE_IMPORT, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["imported_early"] is False  # importing nbrepro must not import deltalake
    assert out["hooks_before"] == 1 and out["hooks_after"] == 0
    assert out["spark_hook"] == 1  # waits for the Spark Connect client, never imported here
    assert out["loader"] != "_HookedLoader" and out["patched"]
    assert [(r["uri"], r["version"]) for r in out["reads"]] == [(str(path.resolve()), 0)]
    assert [(w["version"], w["mode"]) for w in out["writes"]] == [(0, "error")]
    assert out["notes"] == []


def test_install_after_import_and_uninstall_restores_originals() -> None:
    names = ("__init__", "load_as_version", "update_incremental", "to_pandas")
    before = {n: vars(DeltaTable)[n] for n in names}
    write_before = deltalake.write_deltalake
    w = DeltaWatcher()
    w.install()
    w.install()  # idempotent: no double wrapping
    try:
        for n in names:
            assert vars(DeltaTable)[n] is not before[n]
            assert vars(DeltaTable)[n].__wrapped__ is before[n]
            assert vars(DeltaTable)[n].__name__ == before[n].__name__
        patched = deltalake.write_deltalake
        assert patched is not write_before and patched.__wrapped__ is write_before
        assert deltalake.writer.write_deltalake is patched
        assert deltalake.writer.writer.write_deltalake is patched
    finally:
        w.uninstall()
    for n in names:
        assert vars(DeltaTable)[n] is before[n]
    assert deltalake.write_deltalake is write_before
    assert deltalake.writer.write_deltalake is write_before
    assert deltalake.writer.writer.write_deltalake is write_before
    w.uninstall()  # a second uninstall is harmless
    assert vars(DeltaTable)["__init__"] is before["__init__"]


def test_stacked_watchers_unwind_in_any_order(table: Path) -> None:
    names = ("__init__", "load_as_version", "update_incremental", "to_pandas")
    before = {n: vars(DeltaTable)[n] for n in names}
    writers = (deltalake, deltalake.writer, deltalake.writer.writer)
    write_before = deltalake.write_deltalake
    first, second = DeltaWatcher(), DeltaWatcher()
    try:
        first.install()
        second.install()
        first.uninstall()  # second wrapped first's wrapper: it stays, passing through
        assert any("re-patched" in n for n in first.notes)
        DeltaTable(table)
        second.uninstall()
        DeltaTable(table)
        assert first.reads() == [] and second.reads()[0]["reads"] == 1
        assert vars(DeltaTable)["__init__"].__wrapped__ is before["__init__"]
        first.install()  # installing again on top records again
        DeltaTable(table)
        first.uninstall()
        assert first.reads()[0]["reads"] == 1
    finally:  # leave the module as this test found it
        for n in names:
            setattr(DeltaTable, n, before[n])
        for mod in writers:
            mod.write_deltalake = write_before  # type: ignore[attr-defined]


# --- read records ------------------------------------------------------------------


def test_latest_and_explicit_version_zero(table: Path, watcher: DeltaWatcher) -> None:
    assert DeltaTable(table).version() == 2
    assert DeltaTable(str(table), version=0).to_pyarrow_table().num_rows == 3
    latest, zero = watcher.reads()
    assert latest["uri"] == zero["uri"] == str(table.resolve())
    assert latest["table_id"] == zero["table_id"] == _table_id(table)
    assert (latest["version"], latest["requested_version"]) == (2, None)
    assert latest["latest_at_read"] and not latest["pinned_by_user"]
    assert (zero["version"], zero["requested_version"]) == (0, 0)
    assert zero["pinned_by_user"] and not zero["latest_at_read"]
    assert latest["num_files"] == 3 and zero["num_files"] == 1
    assert latest["file_fingerprint"] != zero["file_fingerprint"]
    assert len(latest["file_fingerprint"] or "") == 64
    assert latest["via"] == "deltalake" and not latest["pinned_by_nbrepro"]
    assert latest["commit_timestamp"] is None  # filled by finalize()
    datetime.fromisoformat(latest["first_seen"])


def test_load_as_version_int_datetime_and_update_incremental(
    tmp_path: Path, watcher: DeltaWatcher
) -> None:
    path = tmp_path / "t"
    write_deltalake(path, _df(0))
    time.sleep(0.05)
    between = datetime.now(timezone.utc)
    time.sleep(0.05)
    write_deltalake(path, _df(3), mode="append")
    write_deltalake(path, _df(6), mode="append")
    watcher.clear()
    dt = DeltaTable(path)
    dt.load_as_version(1)
    dt.load_as_version(between.replace(tzinfo=None))  # naive: UTC, as deltalake assumes
    assert dt.version() == 0
    dt.load_as_version(between.isoformat())
    dt.update_incremental()
    got = [(r["version"], r["requested_version"], r["reads"]) for r in watcher.reads()]
    assert got == [(2, None, 2), (1, 1, 1), (0, between.isoformat(), 2)]
    assert watcher.reads()[0]["latest_at_read"]


def test_recreated_table_gets_new_id(tmp_path: Path, watcher: DeltaWatcher) -> None:
    path = tmp_path / "t"
    write_deltalake(path, _df(0))
    first = DeltaTable(path).metadata().id
    shutil.rmtree(path)
    write_deltalake(path, _df(10), mode="overwrite")
    second = DeltaTable(path).metadata().id
    reads = watcher.reads()
    assert first != second
    assert [(r["table_id"], r["version"]) for r in reads] == [(first, 0), (second, 0)]


def test_polars_reads_are_recorded_via_polars(table: Path, watcher: DeltaWatcher) -> None:
    assert pl.read_delta(str(table)).height == 9
    assert pl.scan_delta(str(table)).collect().height == 9
    assert pl.read_delta(str(table), version=0).height == 3
    (latest, zero) = watcher.reads()
    assert (latest["version"], latest["via"], latest["reads"]) == (2, "polars", 2)
    assert (zero["version"], zero["via"], zero["requested_version"]) == (0, "polars", 0)


def test_to_pandas_is_recorded_via_pandas(table: Path, watcher: DeltaWatcher) -> None:
    dt = DeltaTable(table)
    assert watcher.reads()[0]["via"] == "deltalake"
    assert len(dt.to_pandas()) == 9
    assert watcher.reads()[0]["via"] == "pandas"


def test_repeated_reads_are_deduplicated(table: Path, watcher: DeltaWatcher) -> None:
    for _ in range(3):
        DeltaTable(table)
    DeltaTable(str(table) + "/")  # the same table spelled differently
    DeltaTable(f"file://{table}")
    (rec,) = watcher.reads()
    assert rec["reads"] == 5


def test_writes_record_version_and_mode(tmp_path: Path, watcher: DeltaWatcher) -> None:
    # Looked up at call time: a name imported before install() keeps the original.
    write = deltalake.write_deltalake
    path = tmp_path / "w"
    write(path, _df(0))
    write(str(path), _df(3), mode="append")
    deltalake.writer.writer.write_deltalake(path, _df(6), mode="overwrite")
    write(path, _df(9), mode="ignore")  # table exists: nothing written
    write(DeltaTable(path), _df(1), mode="append")  # a DeltaTable target
    pl.DataFrame({"x": [1]}).write_delta(str(path), mode="append")
    writes = watcher.writes()
    assert [(w["version"], w["mode"]) for w in writes] == [
        (0, "error"),
        (1, "append"),
        (2, "overwrite"),
        (None, "ignore"),
        (3, "append"),
        (4, "append"),
    ]
    # deltalake's own DeltaTable() inside write_deltalake is not a notebook read
    assert [r["version"] for r in watcher.reads()] == [2]  # only the DeltaTable(path) above
    assert {w["uri"] for w in writes} == {str(path.resolve())}
    assert writes[0]["table_id"] == _table_id(path)


def test_normalize_uri_forms_and_credentials(tmp_path: Path) -> None:
    secret = normalize_uri("s3://AKIA:secret@bucket/t?sig=x")
    assert secret.startswith("s3://bucket/t")
    assert "AKIA" not in secret and "secret" not in secret and "sig" not in secret
    assert normalize_uri("S3://bucket/t/") == "s3://bucket/t"
    assert "sv=1" in normalize_uri("az://c/t?sv=1&X-Amz-Signature=abc&token=t")
    assert "abc" not in normalize_uri("az://c/t?sv=1&X-Amz-Signature=abc&token=t")
    local = str(tmp_path.resolve() / "t")
    assert normalize_uri(tmp_path / "t") == local
    assert normalize_uri(f"{tmp_path}/t/") == local
    assert normalize_uri(f"file://{tmp_path}/t/") == local
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert normalize_uri("t") == local
    finally:
        os.chdir(cwd)


# --- the hook is invisible ---------------------------------------------------------


def test_hook_never_changes_results_or_exceptions(tmp_path: Path, table: Path) -> None:
    missing = tmp_path / "nope"

    def observe() -> tuple[Any, ...]:
        with pytest.raises(TableNotFoundError) as err:
            DeltaTable(missing)
        frame = DeltaTable(table, version=1).to_pandas()
        return type(err.value), str(err.value), frame

    plain = observe()
    w = DeltaWatcher()
    w.install()
    try:
        hooked = observe()
    finally:
        w.uninstall()
    assert plain[:2] == hooked[:2]
    pd.testing.assert_frame_equal(plain[2], hooked[2])
    assert [r["version"] for r in w.reads()] == [1]


def test_failing_recording_is_a_note(
    table: Path, watcher: DeltaWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(dt: Any) -> tuple[str, int]:
        raise OSError("log listing failed")

    monkeypatch.setattr("nbrepro.capture.delta.watcher._fingerprint", broken)
    assert sorted(DeltaTable(table).to_pandas()["x"]) == list(range(9))
    assert watcher.reads() == []
    assert any("log listing failed" in n for n in watcher.notes)


def test_failing_on_event_is_a_note(table: Path) -> None:
    def boom(event: dict[str, Any]) -> None:
        raise RuntimeError("sink is down")

    w = DeltaWatcher(on_event=boom)
    w.install()
    try:
        assert DeltaTable(table).to_pyarrow_table().num_rows == 9
        deltalake.write_deltalake(table, _df(0), mode="append")
    finally:
        w.uninstall()
    assert w.reads()[0]["version"] == 2 and w.writes()[0]["version"] == 3
    assert any("sink is down" in n for n in w.notes)


def test_on_event_streams_new_and_updated_records(table: Path) -> None:
    events: list[dict[str, Any]] = []
    w = DeltaWatcher(on_event=events.append)
    w.install()
    try:
        DeltaTable(table)
        DeltaTable(table)
        deltalake.write_deltalake(table, _df(0), mode="append")
    finally:
        w.uninstall()
    assert [(e["kind"], e.get("reads")) for e in events] == [
        ("read", 1),
        ("read", 2),
        ("write", None),
    ]
    json.dumps(events)  # streamed to JSONL by headless runs


def test_finalize_fills_commit_timestamp(table: Path, watcher: DeltaWatcher) -> None:
    DeltaTable(table, version=0)
    DeltaTable(table)
    done = watcher.finalize(watcher.reads())
    for rec in done:
        log = table / "_delta_log" / f"{rec['version']:020d}.json"
        commit = json.loads(log.read_text().splitlines()[0])["commitInfo"]
        expected = datetime.fromtimestamp(commit["timestamp"] / 1000, timezone.utc)
        assert datetime.fromisoformat(rec["commit_timestamp"] or "") == expected
    assert watcher.reads()[0]["commit_timestamp"] == done[0]["commit_timestamp"]
    # records from elsewhere (headless events), incl. an unreadable one: a note, no raise
    fresh = DeltaWatcher().finalize([{**done[0], "commit_timestamp": None}])
    assert fresh[0]["commit_timestamp"] == done[0]["commit_timestamp"]
    gone = DeltaWatcher()
    assert gone.finalize([{**done[0], "uri": "/nonexistent/t", "commit_timestamp": None}])
    assert gone.notes


# --- pins --------------------------------------------------------------------------


def test_pins_hold_unversioned_reads(table: Path, watcher: DeltaWatcher) -> None:
    watcher.set_pins({str(table) + "/": {"version": 1, "table_id": _table_id(table)}})
    watcher.clear()
    assert DeltaTable(table).version() == 1
    assert pl.read_delta(str(table)).height == 6
    assert pl.scan_delta(str(table)).collect().height == 6
    assert DeltaTable(table, version=0).version() == 0  # an explicit version stays
    dt = DeltaTable(table)
    dt.load_as_version(2)
    assert dt.version() == 2
    pinned, zero, two = watcher.reads()
    assert (pinned["version"], pinned["pinned_by_nbrepro"], pinned["reads"]) == (1, True, 4)
    assert pinned["requested_version"] is None and not pinned["latest_at_read"]
    assert not zero["pinned_by_nbrepro"] and zero["version"] == 0
    assert two["version"] == 2 and two["pinned_by_user"]
    # deltalake's internal open in write_deltalake is never pinned: appends go on top
    deltalake.write_deltalake(table, _df(0), mode="append")
    assert watcher.writes()[-1]["version"] == 3


def test_pin_on_recreated_table_raises_mismatch(table: Path, watcher: DeltaWatcher) -> None:
    current = _table_id(table)
    watcher.set_pins({str(table): {"version": 0, "table_id": "recorded-id"}})
    with pytest.raises(PinnedTableMismatch) as err:
        DeltaTable(table)
    msg = str(err.value)
    assert str(table.resolve()) in msg and "recorded-id" in msg and current in msg
    assert "version 0" in msg and "--data latest" in msg
    assert (err.value.current_id, err.value.version) == (current, 0)


def test_pin_to_missing_version_keeps_deltalake_error(table: Path, watcher: DeltaWatcher) -> None:
    watcher.set_pins({str(table): {"version": 7, "table_id": None}})
    with pytest.raises(deltalake.exceptions.DeltaError) as err:
        DeltaTable(table)
    assert "--data latest" in "\n".join(getattr(err.value, "__notes__", []))


def test_check_pins(tmp_path: Path) -> None:
    # a space in the root and escaped partition values: paths must be decoded exactly once
    path = tmp_path / "a dir" / "v"
    write_deltalake(path, pd.DataFrame({"k": ["a b", "c%d"], "x": [1, 2]}), partition_by="k")
    write_deltalake(path, pd.DataFrame({"k": ["e/f"], "x": [3]}), mode="overwrite")
    table_id = _table_id(path)
    assert check_pins({str(path): {"version": 0, "table_id": table_id}}) == []
    DeltaTable(path).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    (problem,) = check_pins({str(path): {"version": 0, "table_id": table_id}})
    assert problem["kind"] == "files_missing" and problem["fatal"]
    assert str(path.resolve()) in problem["message"] and "version 0" in problem["message"]
    assert "2 of 2 data files are missing" in problem["message"]
    assert "--data latest" not in problem["message"]  # the rerun says the way out once
    assert check_pins({str(path): {"version": 1, "table_id": table_id}}) == []
    replaced = check_pins({str(path): {"version": 1, "table_id": "other"}})
    assert [p["kind"] for p in replaced] == ["table_replaced"]
    gone = check_pins({str(tmp_path / "none"): {"version": 0, "table_id": None}})
    assert [p["kind"] for p in gone] == ["table_missing"]
    later = check_pins({str(path): {"version": 9, "table_id": table_id}})
    assert [p["kind"] for p in later] == ["version_unavailable"]
    assert "only goes up to version" in later[0]["message"]


# --- cost --------------------------------------------------------------------------


def test_report_hook_overhead(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion: prints the median cost ratio of reading a 20-file table 30 times."""
    path = tmp_path / "wide"
    for i in range(20):
        write_deltalake(path, _df(i * 3), mode="append")
    w = DeltaWatcher()

    def read(hooked: bool) -> float:
        if hooked:
            w.install()
        try:
            start = time.perf_counter()
            DeltaTable(path).to_pyarrow_table()
            return time.perf_counter() - start
        finally:
            w.uninstall()

    for _ in range(3):  # warm up file caches
        read(False)
    plain: list[float] = []
    hooked: list[float] = []
    for i in range(30):  # interleaved, alternating who goes first: load drift hits both
        for on in (i % 2 == 0, i % 2 == 1):
            (hooked if on else plain).append(read(on))
    assert w.reads()[0]["reads"] == 30 and w.reads()[0]["num_files"] == 20
    ratio = statistics.median(hooked) / statistics.median(plain)
    with capsys.disabled():
        print(f"\n[nbrepro.delta] 20-file read x30, hook/plain median ratio: {ratio:.3f}")
