"""The verdict rules, on records built by hand: each rule with a case that could fool it.

End-to-end cases on real kernels are in test_verdict_corpus.py; these pin the rules
themselves: identity alignment, failures, and "nothing compared".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import nbformat
from helpers import api_check

from nbrepro.capture.history import ExecutedCell, build_replay
from nbrepro.reproduce.compare.report import build_report, render_text
from nbrepro.store.runs import CapturedRun


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


@dataclass
class Cell:
    source: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, str] | None = None
    origin: int | None = None
    parameters: bool = False


def in_memory(
    run_id: str,
    executed: list[ExecutedCell],
    run: dict[str, Any],
    *,
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
) -> dict[str, Any]:
    """What a headless run held in memory passes to ``CapturedRun``: its MLflow run and
    its record (``run``: the record's run fields besides the id)."""
    record = {
        "mode": "headless",
        "run": {"run_id": run_id, "error": None, "reproduces": None, **run},
        "code": {
            "cells": [c.to_record() for c in executed],
            "document": {"available": True},
            "hidden_state": {"hidden": False, "explanations": []},
            "capture_cell": None,
        },
        "environment": {"hash": "h", "python": {}, "packages": []},
        "data": {"reads": []},
    }
    data = SimpleNamespace(params=params or {}, metrics=metrics or {}, tags={})
    mlflow_run = SimpleNamespace(info=SimpleNamespace(run_id=run_id), data=data)
    return {"run": mlflow_run, "record": record, "tracking_uri": "memory"}


class FakeRun(CapturedRun):
    """A headless run whose document and replay come from memory, not from MLflow."""

    def __init__(
        self,
        run_id: str,
        cells: list[Cell],
        *,
        reproduces: str | None = None,
        error_at: int | None = None,
        params: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
    ) -> None:
        doc = nbformat.v4.new_notebook()
        executed = []
        for k, cell in enumerate(cells):
            node = nbformat.v4.new_code_cell(cell.source, execution_count=k + 1)
            node.outputs = [nbformat.from_dict(o) for o in cell.outputs]
            if cell.origin is not None:
                node.metadata["nbrepro"] = {"position": cell.origin}
            if cell.parameters:
                node.metadata["tags"] = ["injected-parameters"]
            doc.cells.append(node)
            executed.append(
                ExecutedCell(
                    k + 1,
                    cell.source,
                    error=cell.error,
                    doc_index=k,
                    origin=cell.origin,
                    injected_parameters=cell.parameters,
                )
            )
        error = None
        if error_at is not None:
            error = {**(cells[error_at].error or {}), "cell_index": error_at, "position": error_at}
        super().__init__(
            **in_memory(
                run_id,
                executed,
                {"error": error, "reproduces": reproduces},
                params=params,
                metrics=metrics,
            )
        )
        self._doc = doc
        self._replay = build_replay(executed, doc)

    def artifact_text(self, key: str) -> str:
        assert key == "document"
        return nbformat.writes(self._doc)


A = "a" * 32
B = "b" * 32


def report_of(original: FakeRun, rerun: FakeRun, **kwargs: Any) -> dict[str, Any]:
    report = build_report(original, rerun, **kwargs)
    api_check(report, "Report")
    render_text(report)  # renders every shape without error
    return report


def test_cells_are_matched_by_identity_not_position() -> None:
    # The original ran with -p: papermill's parameters cell is its second execution. The
    # rerun ran without parameters... and papermill added a parameters cell of its own
    # at the top (no origin). By position every cell would be compared with the wrong one.
    original = FakeRun(
        A,
        [
            Cell("seed = 1"),
            Cell("seed = 7", parameters=True),
            Cell("print(seed)", [stream("7\n")]),
            Cell("print('last')", [stream("last\n")]),
        ],
    )
    rerun = FakeRun(
        B,
        [
            Cell("extra = 0", parameters=True),
            Cell("seed = 1", origin=0),
            Cell("seed = 7", origin=1, parameters=True),
            Cell("print(seed)", [stream("7\n")], origin=2),
            Cell("print('last')", [stream("last\n")], origin=3),
        ],
        reproduces=A,
    )
    report = report_of(original, rerun)
    assert report["verdict"] == "reproduced", report["sections"]["outputs"]
    assert report["sections"]["outputs"]["compared"] == 4
    # Parameters are compared as params, not as code.
    assert report["sections"]["code"]["same"]

    changed_last = FakeRun(
        B,
        [
            Cell("seed = 1", origin=0),
            Cell("seed = 7", origin=1, parameters=True),
            Cell("print(seed)", [stream("7\n")], origin=2),
            Cell("print('last')", [stream("LAST\n")], origin=3),
        ],
        reproduces=A,
    )
    report = report_of(original, changed_last)
    assert report["verdict"] == "differs"
    [cell] = report["sections"]["outputs"]["cells"]
    assert cell["cell"] == 3 and cell["label"] == "In [4] (cell 4)"


def failing(run_id: str, error: dict[str, str] | None, at: int = 1, **kw: Any) -> FakeRun:
    cells = [Cell("x = 1", origin=0 if kw.get("reproduces") else None)]
    last = Cell("check(x)", error=error, origin=1 if kw.get("reproduces") else None)
    cells.append(last)
    return FakeRun(run_id, cells, error_at=at if error else None, **kw)


ASSERTION = {"ename": "AssertionError", "evalue": "x is not 2"}


def test_the_same_failure_in_the_same_cell_reproduces_and_is_named() -> None:
    report = report_of(failing(A, ASSERTION), failing(B, ASSERTION, reproduces=A))
    assert report["verdict"] == "reproduced"
    assert report["failure_reproduced"]["ename"] == "AssertionError"
    assert report["failure"] is None
    assert "including the original's failure: In [2] (cell 2)" in render_text(report)


def test_a_failure_that_does_not_reproduce_differs() -> None:
    report = report_of(failing(A, ASSERTION), failing(B, None, reproduces=A))
    assert report["verdict"] == "differs" and report["differs"] == ["outputs"]
    assert report["failure_reproduced"] is None
    other = {"ename": "AssertionError", "evalue": "x is not 3"}
    report = report_of(failing(A, ASSERTION), failing(B, other, reproduces=A))
    assert report["verdict"] == "differs" and report["failure"]["evalue"] == "x is not 3"


def test_a_new_failure_is_failed() -> None:
    report = report_of(failing(A, None), failing(B, ASSERTION, reproduces=A))
    assert report["verdict"] == "failed"
    assert report["failure"]["ename"] == "AssertionError"
    # Failing earlier than the original did is a new failure too.
    early = FakeRun(B, [Cell("x = 1", error=ASSERTION, origin=0)], reproduces=A, error_at=0)
    assert report_of(failing(A, ASSERTION), early)["verdict"] == "failed"


def test_nothing_compared_is_never_reproduced() -> None:
    # A capture that recorded no outputs, params, metrics or reads: equal by default.
    original = FakeRun(A, [Cell("x = 1")])
    original.record["mode"] = "sidebar"  # no outputs recorded
    rerun = FakeRun(B, [Cell("x = 1", origin=0)], reproduces=A)
    report = report_of(original, rerun)
    assert report["verdict"] == "failed"
    assert any("Nothing could be compared" in note for note in report["notes"])


def test_volatile_only_differences_are_said_and_can_be_ignored() -> None:
    original = FakeRun(A, [Cell("print(now())", [stream("at 2026-12-02 10:00:01\n")])])
    rerun = FakeRun(
        B, [Cell("print(now())", [stream("at 2026-12-02 10:05:09\n")], origin=0)], reproduces=A
    )
    report = report_of(original, rerun)
    assert report["verdict"] == "differs"
    assert report["volatile"] == {"ignored": False, "kinds": ["times"], "only": True}
    assert "only volatile values differ (times)" in render_text(report)
    report = report_of(original, rerun, ignore_volatile=True)
    assert report["verdict"] == "reproduced"
    assert "volatile values ignored: times" in render_text(report)


def test_a_rerun_of_a_replay_without_positions_is_aligned_by_position() -> None:
    # Replays captured before they carried positions: the rerun's cells have no origin.
    original = FakeRun(A, [Cell("print(x)", [stream("acc 0.91\n")])], metrics={"n": 1.0})
    rerun = FakeRun(B, [Cell("print(x)", [stream("acc 0.55\n")])], reproduces=A, metrics={"n": 1.0})
    report = report_of(original, rerun)
    assert report["verdict"] == "differs"
    assert report["sections"]["outputs"]["cells"][0]["cell"] == 0


def test_a_cell_the_rerun_did_not_run_is_a_difference() -> None:
    cells = [Cell("import sys", [stream("a\n")]), Cell("print('b')", [stream("b\n")])]
    original = FakeRun(A, cells)
    # The rerun stopped after its first cell (sys.exit(0), say).
    rerun = FakeRun(B, [Cell("import sys", [stream("a\n")], origin=0)], reproduces=A)
    report = report_of(original, rerun)
    assert report["verdict"] == "differs"
    assert report["sections"]["outputs"]["only_in_a"] == [1]
    assert "not run by the rerun: In [2] (cell 2)" in render_text(report)


def test_a_sidebar_capture_compares_the_saved_outputs() -> None:
    original = FakeRun(A, [Cell("print(x)", [stream("acc 0.91\n")])], metrics={"n": 1.0})
    original.record["mode"] = "sidebar"
    rerun = FakeRun(
        B, [Cell("print(x)", [stream("acc 0.55\n")], origin=0)], reproduces=A, metrics={"n": 1.0}
    )
    report = report_of(original, rerun)
    assert report["verdict"] == "differs"
    # A cell edited since it ran: its saved outputs are not of what ran, so not compared.
    original.record["code"]["cells"][0]["source"] = "print(y)"
    original._outputs.clear()
    assert report_of(original, rerun)["sections"]["outputs"]["compared"] == 0


def test_cells_that_printed_nothing_compare_nothing() -> None:
    original = FakeRun(A, [Cell("model = fit(X, y)")])
    rerun = FakeRun(B, [Cell("model = fit(X, y)", origin=0)], reproduces=A)
    report = report_of(original, rerun)
    assert report["verdict"] == "failed"
    assert any("Nothing could be compared" in note for note in report["notes"])


DIED = {"ename": "DeadKernelError", "evalue": "Kernel died"}


def test_a_dying_cell_may_lose_its_last_output_but_nothing_else() -> None:
    original = FakeRun(
        A, [Cell("fit(); die()", [stream("epoch 1\nepoch 2\n")], error=DIED)], error_at=0
    )
    short = FakeRun(
        B,
        [Cell("fit(); die()", [stream("epoch 1\n")], error=DIED, origin=0)],
        reproduces=A,
        error_at=0,
    )
    report = report_of(original, short)
    assert (
        report["verdict"] == "reproduced" and report["failure_reproduced"]["ename"] == DIED["ename"]
    )
    assert any("stop short" in note for note in report["notes"])
    other = FakeRun(
        B,
        [Cell("fit(); die()", [stream("epoch 9\n")], error=DIED, origin=0)],
        reproduces=A,
        error_at=0,
    )
    assert report_of(original, other)["verdict"] == "differs"


def test_runs_that_failed_before_any_cell_do_not_reproduce_each_other() -> None:
    for run in (original := FakeRun(A, [Cell("x = 1")]), rerun := FakeRun(B, [Cell("x = 1")])):
        run.record["run"]["error"] = {"ename": "NoSuchKernel", "evalue": "r", "position": None}
    assert report_of(original, rerun)["verdict"] == "failed"


def test_infinite_metrics_are_equal_under_a_tolerance() -> None:
    original = FakeRun(A, [Cell("x", [stream("1\n")])], metrics={"loss": float("inf")})
    rerun = FakeRun(
        B, [Cell("x", [stream("1\n")], origin=0)], reproduces=A, metrics={"loss": float("inf")}
    )
    assert report_of(original, rerun, default_tolerance=0.01)["verdict"] == "reproduced"


def test_ignored_volatile_values_are_not_called_the_only_difference() -> None:
    original = FakeRun(A, [Cell("t", [stream("at 2026-12-02 10:00:01\nacc 0.9\n")])])
    rerun = FakeRun(
        B, [Cell("t", [stream("at 2026-12-02 10:05:09\nacc 0.5\n")], origin=0)], reproduces=A
    )
    text = render_text(report_of(original, rerun, ignore_volatile=True))
    assert "Verdict: DIFFERS (outputs)" in text and "only volatile" not in text


def test_a_metric_that_diverges_to_infinity_differs_under_any_tolerance() -> None:
    original = FakeRun(A, [Cell("x", [stream("1\n")])], metrics={"loss": 0.3})
    rerun = FakeRun(
        B, [Cell("x", [stream("1\n")], origin=0)], reproduces=A, metrics={"loss": float("inf")}
    )
    assert report_of(original, rerun, default_tolerance=0.5)["verdict"] == "differs"


def test_replayed_parameters_alone_are_not_a_reproduction() -> None:
    # A silent notebook run with -p seed 7: its params match by construction.
    original = FakeRun(A, [Cell("fit()")], params={"seed": "7"})
    rerun = FakeRun(B, [Cell("fit()", origin=0)], reproduces=A, params={"seed": "7"})
    for run in (original, rerun):
        run.record["run"]["parameters"] = {"seed": 7}
    assert report_of(original, rerun)["verdict"] == "failed"


def test_stale_saved_outputs_of_a_sidebar_capture_are_not_compared() -> None:
    original = FakeRun(A, [Cell("print(x)", [stream("acc 0.91\n")])], metrics={"n": 1.0})
    original.record["mode"] = "sidebar"
    original._doc.cells[0].execution_count = 7  # saved from another execution
    rerun = FakeRun(
        B, [Cell("print(x)", [stream("acc 0.91\n")], origin=0)], reproduces=A, metrics={"n": 1.0}
    )
    assert report_of(original, rerun)["sections"]["outputs"]["compared"] == 0


def test_an_old_replay_reproducing_its_failure_is_reproduced() -> None:
    original = failing(A, ASSERTION)
    rerun = failing(B, ASSERTION, reproduces=A)
    for cell in rerun.record["code"]["cells"]:
        cell.pop("origin", None)  # a replay from before replays carried positions
    rerun._outputs.clear()
    assert report_of(original, rerun)["verdict"] == "reproduced"


def test_a_rerun_that_stopped_early_is_no_code_change() -> None:
    cells = [Cell("import sys"), Cell("sys.exit(0)"), Cell("fit()")]
    original = FakeRun(A, cells)
    rerun = FakeRun(B, [Cell("import sys", origin=0), Cell("sys.exit(0)", origin=1)], reproduces=A)
    report = report_of(original, rerun)
    assert report["verdict"] == "differs" and report["differs"] == ["outputs"]


def test_a_read_that_was_not_recorded_keeps_the_data_from_being_the_same() -> None:
    from nbrepro.reproduce.compare.report import UNRECORDED_URI, compare_data

    read = {"uri": "/lake/wine", "version": 0, "table_id": "t", "file_fingerprint": "f"}
    clean = {"data": {"reads": [read], "notes": ["left deltalake.DeltaTable.__init__ alone"]}}
    lost = {
        "data": {
            "reads": [read],
            "notes": ["a Spark read of wine was not recorded: OSError('no such table')"],
        }
    }
    assert compare_data(clean, clean)["same"]
    data = compare_data(clean, lost)
    assert not data["same"]
    assert data["tables"][-1] == {
        "uri": UNRECORDED_URI,
        "same": False,
        "original": [],
        "rerun": [],
        "note": "rerun: a Spark read of wine was not recorded: OSError('no such table')",
    }


def test_outputs_that_differ_only_in_order_are_told_apart_from_other_differences() -> None:
    from nbrepro.reproduce.compare.report import _reordered

    assert _reordered("--- original\n+++ rerun\n-{'b', 'a', 'c'}\n+{'a', 'c', 'b'}")
    # A time, a value or a missing word is another difference, not an order.
    assert not _reordered("-trained at 12:00:01\n+trained at 12:00:02")
    assert not _reordered("-{'a', 'b'}\n+{'a'}")
    assert not _reordered("-same\n+same")
    assert not _reordered("")


def test_a_table_that_moved_says_what_the_delta_log_says_moved(tmp_path: Any) -> None:
    """A real table: the report carries its log between the versions, the text says it."""
    import pandas as pd
    from deltalake import DeltaTable, write_deltalake

    path = str(tmp_path / "wine")
    write_deltalake(path, pd.DataFrame({"x": range(120)}))
    write_deltalake(path, pd.DataFrame({"x": range(58)}), mode="append")
    table_id = str(DeltaTable(path).metadata().id)
    cells = [Cell("print(1)", [stream("1\n")])]
    original = FakeRun(A, cells)
    rerun = FakeRun(B, [Cell("print(1)", [stream("1\n")], origin=0)], reproduces=A)
    for run, version in ((original, 0), (rerun, 1)):
        run.record["data"]["reads"] = [
            {"uri": path, "version": version, "table_id": table_id, "file_fingerprint": None}
        ]
    report = report_of(original, rerun)
    (table,) = report["sections"]["data"]["tables"]
    assert table["note"] == "moved: v0 -> v1"
    changes = table["changes"]
    assert [(c["version"], c["operation"], c["mode"]) for c in changes["commits"]] == [
        (1, "WRITE", "Append")
    ]
    assert (changes["rows_added"], changes["files_added"]) == (58, 1)
    lines = render_text(report).splitlines()
    at = lines.index(f"    {path} v0  <- moved: v0 -> v1")
    assert lines[at + 1] == "      v0 -> v1: 1 commit (WRITE append), +58 rows, +1 file"
    # Same versions: nothing read from the log; a report from before has no changes.
    assert "changes" not in report_of(original, original)["sections"]["data"]["tables"][0]
