"""Hidden-state detection and the replay notebook, on plain data."""

from __future__ import annotations

import nbformat

from nbrepro.capture.history import (
    ExecutedCell,
    build_replay,
    executed_from_notebook,
    find_hidden_state,
    history_script,
    match_to_document,
)


def doc(*sources: str, ids: list[str] | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        cell.id = ids[i] if ids else f"c{i}"
        nb.cells.append(cell)
    return nb


def test_in_order_session_has_no_hidden_state() -> None:
    nb = doc("a = 1", "b = a + 1", "%%repro\nprint(b)")
    executed = [
        ExecutedCell(1, "a = 1", "c0"),
        ExecutedCell(2, "b = a + 1", "c1"),
        ExecutedCell(3, "%%repro\nprint(b)", "c2"),
    ]
    match_to_document(executed, nb)
    state = find_hidden_state(executed, nb, capture_index=2)
    assert [c.doc_index for c in executed] == [0, 1, 2]
    assert not state.hidden
    assert state.explanations == []


def test_out_of_order_and_edited_after_run_by_cell_id() -> None:
    # cell c0 ran, c1 used it, then c0 was edited and re-run: the document shows the edit.
    nb = doc("a = 2", "b = a * 10", "%%repro\nprint(b)")
    executed = [
        ExecutedCell(1, "a = 1", "c0"),
        ExecutedCell(2, "b = a * 10", "c1"),
        ExecutedCell(3, "a = 2", "c0"),
        ExecutedCell(4, "%%repro\nprint(b)", "c2"),
    ]
    match_to_document(executed, nb)
    state = find_hidden_state(executed, nb, capture_index=3)
    assert state.out_of_order == [3]
    assert state.edited_after_run == []  # the last run of c0 matches the document
    assert state.hidden
    assert any("out of document order" in e for e in state.explanations)


def test_edited_after_run_and_missing_and_never_executed() -> None:
    nb = doc("a = 5", "unused = 0", "%%repro\nprint(a)")
    executed = [
        ExecutedCell(1, "a = 1", "c0"),  # c0 now shows a = 5: edited after it ran
        ExecutedCell(2, "secret_setup = 42", "deleted"),  # cell deleted since
        ExecutedCell(3, "%%repro\nprint(a)", "c2"),
    ]
    match_to_document(executed, nb)
    state = find_hidden_state(executed, nb, capture_index=2)
    assert state.edited_after_run == [0]
    assert state.missing_from_document == [2]
    assert state.never_executed == [1]
    assert len(state.explanations) == 3


def test_cells_below_capture_are_not_flagged_never_executed() -> None:
    nb = doc("a = 1", "%%repro\nprint(a)", "later = 1")
    executed = [ExecutedCell(1, "a = 1", "c0"), ExecutedCell(2, "%%repro\nprint(a)", "c1")]
    match_to_document(executed, nb)
    assert find_hidden_state(executed, nb, capture_index=1).never_executed == []


def test_source_matching_without_cell_ids_maps_repeats_in_order() -> None:
    nb = doc("x = 1", "x += 1", "x += 1")
    executed = [ExecutedCell(1, "x = 1"), ExecutedCell(2, "x += 1"), ExecutedCell(3, "x += 1")]
    match_to_document(executed, nb)
    assert [c.doc_index for c in executed] == [0, 1, 2]


def test_unknown_document_still_reports() -> None:
    executed = [ExecutedCell(1, "a = 1"), ExecutedCell(2, "print(a)")]
    state = find_hidden_state(match_to_document(executed, None), None)
    assert not state.hidden
    assert "unknown" in state.explanations[0]


def test_replay_keeps_execution_order_and_marks_errors() -> None:
    nb = doc("a = 2", "b = a * 10")
    nb.cells[0].metadata["tags"] = ["parameters"]
    executed = [
        ExecutedCell(1, "a = 1", "c0"),
        ExecutedCell(2, "b = a * 10", "c1"),
        ExecutedCell(3, "1/0", None, error={"ename": "ZeroDivisionError", "evalue": "x"}),
        ExecutedCell(4, "a = 2", "c0"),
        ExecutedCell(5, "early = 1", None, error_known=False),
    ]
    match_to_document(executed, nb)
    replay = build_replay(executed, nb)
    assert [c.source for c in replay.cells] == [c.source for c in executed]
    tags = [c.metadata["tags"] for c in replay.cells]
    assert "raises-exception" in tags[2]
    assert "raises-exception" in tags[4]
    assert "raises-exception" not in tags[0]
    # only the last execution of the parameters cell carries the tag
    assert "parameters" in tags[3] and "parameters" not in tags[0]
    assert replay.cells[1].metadata["nbrepro"]["execution_count"] == 2
    nbformat.validate(replay)


def test_history_script_and_executed_from_notebook() -> None:
    nb = doc("a = 1", "1/0", "not_run = 1")
    nb.cells[0].execution_count = 1
    nb.cells[1].execution_count = 2
    nb.cells[1].outputs = [
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero")
    ]
    cells = executed_from_notebook(nb)
    assert [(c.execution_count, c.doc_index) for c in cells] == [(1, 0), (2, 1)]
    assert cells[1].error == {"ename": "ZeroDivisionError", "evalue": "division by zero"}
    script = history_script(cells)
    assert "# In[2]  # raised ZeroDivisionError" in script
