"""What the Delta log says happened between two versions, on real tables written with
deltalake: appends, deletes, overwrites, a commit without metrics, a log cut short."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake
from helpers import api_check

from nbrepro.capture.delta.changes import changes_phrase, log_between


def _rows(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(start, start + n))})


@pytest.fixture
def table(tmp_path: Path) -> tuple[str, str]:
    """v0: 120 rows; v1: 58 appended; v2: 10 deleted; v3: overwritten with 7 rows."""
    path = str(tmp_path / "lake" / "t")
    write_deltalake(path, _rows(0, 120))
    write_deltalake(path, _rows(1000, 58), mode="append")
    DeltaTable(path).delete("x < 10")
    write_deltalake(path, _rows(0, 7), mode="overwrite")
    return path, str(DeltaTable(path).metadata().id)


def test_an_append_is_one_write_with_its_rows_and_files(table: tuple[str, str]) -> None:
    path, table_id = table
    changes = api_check(log_between(path, table_id, 0, 1), "DeltaLogChanges")
    (commit,) = changes["commits"]
    assert (commit["version"], commit["operation"], commit["mode"]) == (1, "WRITE", "Append")
    assert commit["timestamp"] and commit["timestamp"].endswith("+00:00")
    assert (changes["rows_added"], changes["rows_removed"]) == (58, 0)
    assert (changes["files_added"], changes["files_removed"]) == (1, 0)
    assert changes["note"] == "" and changes["left_out"] == 0
    assert changes_phrase(changes) == "v0 -> v1: 1 commit (WRITE append), +58 rows, +1 file"


def test_a_delete_and_an_overwrite_add_up_and_unknowns_stay_unknown(
    table: tuple[str, str],
) -> None:
    path, table_id = table
    deleted = log_between(path, table_id, 1, 2)
    assert deleted["commits"][0]["operation"] == "DELETE"
    assert (deleted["rows_added"], deleted["rows_removed"]) == (0, 10)
    # An overwrite removes files: how many rows they held, its metrics do not say.
    changes = api_check(log_between(path, table_id, 0, 3), "DeltaLogChanges")
    assert [c["operation"] for c in changes["commits"]] == ["WRITE", "DELETE", "WRITE"]
    assert changes["commits"][2]["rows_removed"] is None
    assert changes["rows_added"] == 58 + 7 and changes["rows_removed"] is None
    assert changes["files_added"] is not None and changes["files_removed"] is not None
    phrase = changes_phrase(changes)
    assert phrase.startswith("v0 -> v3: 3 commits (WRITE append, DELETE, WRITE overwrite), +65")
    assert "rows removed unknown" in phrase
    # Two runs compared the other way round: the same commits, said to go backwards.
    back = log_between(path, table_id, 3, 0)
    assert back["backwards"] and back["commits"] == changes["commits"]


def test_a_commit_without_metrics_is_unknown_not_zero(table: tuple[str, str]) -> None:
    path, table_id = table
    commit_file = Path(path) / "_delta_log" / f"{1:020d}.json"
    lines = commit_file.read_text().splitlines()
    for i, line in enumerate(lines):
        action = json.loads(line)
        if "commitInfo" in action:
            del action["commitInfo"]["operationMetrics"]
            lines[i] = json.dumps(action)
    commit_file.write_text("\n".join(lines) + "\n")
    changes = log_between(path, table_id, 0, 1)
    (commit,) = changes["commits"]
    assert (commit["rows_added"], commit["files_added"]) == (None, None)
    assert (commit["rows_removed"], commit["files_removed"]) == (0, 0)  # an append removes none
    assert changes["rows_added"] is None and changes["files_added"] is None
    assert changes_phrase(changes) == (
        "v0 -> v1: 1 commit (WRITE append), rows added unknown, files added unknown"
    )


def test_the_commits_read_are_bounded_and_what_is_left_out_is_said(
    table: tuple[str, str],
) -> None:
    path, table_id = table
    changes = api_check(log_between(path, table_id, 0, 3, max_commits=2), "DeltaLogChanges")
    assert [c["version"] for c in changes["commits"]] == [2, 3]  # the nearest v3
    assert changes["left_out"] == 1 and changes["commits_between"] == 3
    assert changes["rows_added"] is None  # a total over commits not read is unknown
    assert "1 older ones were left out" in changes["note"]


def test_an_unreadable_log_is_a_note_never_an_error(table: tuple[str, str], tmp_path: Path) -> None:
    path, table_id = table
    gone = log_between(str(tmp_path / "nowhere"), None, 0, 2)
    assert gone["commits"] == [] and "could not be read" in gone["note"]
    assert changes_phrase(gone).startswith("v0 -> v2: 2 commits (the Delta log could not be read")
    recreated = log_between(path, "another-table-id", 0, 1)
    assert recreated["commits"] == [] and "re-created" in recreated["note"]
    # A log cleaned up after a checkpoint: the oldest commits are gone, the table opens.
    DeltaTable(path).create_checkpoint()
    for version in (0, 1):
        (Path(path) / "_delta_log" / f"{version:020d}.json").unlink()
    cut = api_check(log_between(path, table_id, 0, 3), "DeltaLogChanges")
    assert [c["version"] for c in cut["commits"]] == [2, 3]
    assert "no longer has 1 of these commits (v1): cleaned up" in cut["note"]
    assert cut["rows_added"] is None
