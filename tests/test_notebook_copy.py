"""Copies of a run's replay or document under the server root (no MLflow, no server)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pytest

from nbrepro.server.notebook_copy import (
    FolderOutsideRoot,
    NotCaptured,
    copy_folder,
    copy_name,
    notebook_copy,
    write_copy,
)
from nbrepro.store.runs import CapturedRun

RUN_ID = "0123456789abcdef" * 2


def fake_run(run_name: str | None = "train", document: dict[str, Any] | None = None) -> CapturedRun:
    replay = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("print(x)")]
    )
    replay.metadata["nbrepro"] = {"replay": True, "executions": 2}
    record = {
        "created_at": "2026-12-05T08:00:00+00:00",
        "run": {"run_name": run_name},
        "code": {"document": document or {"path": None, "available": False}},
    }
    run = SimpleNamespace(info=SimpleNamespace(run_id=RUN_ID, run_name="mlflow-name"))
    return CapturedRun(run=run, record=record, tracking_uri="", _replay=replay)


def test_copy_name_is_one_safe_file_name() -> None:
    assert copy_name(RUN_ID, "train", "replay") == "train-01234567.replay.ipynb"
    assert copy_name(RUN_ID, "../../etc/passwd", "replay") == "etc-passwd-01234567.replay.ipynb"
    assert copy_name(RUN_ID, "a b/c:d", "document") == "a-b-c-d-01234567.document.ipynb"
    assert copy_name(RUN_ID, None, "replay") == "run-01234567.replay.ipynb"
    assert copy_name(RUN_ID, "...", "replay") == "run-01234567.replay.ipynb"
    assert copy_name(RUN_ID, "é" * 100, "replay") == "é" * 60 + "-01234567.replay.ipynb"


def test_the_folder_must_be_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert copy_folder(root, "") == root / "nbrepro-runs"
    assert copy_folder(root, "a/b") == root / "a" / "b"
    assert copy_folder(root, str(root / "x")) == root / "x"
    for outside in ("..", "../elsewhere", str(tmp_path)):
        with pytest.raises(FolderOutsideRoot, match="outside the server's root"):
            copy_folder(root, outside)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(FolderOutsideRoot):
        copy_folder(root, "link")


def test_write_copy_writes_the_replay_with_the_run_named_and_rewrites_it(tmp_path: Path) -> None:
    run = fake_run()
    result = write_copy(run, "replay", tmp_path, "copies")
    context = {
        "run_id": RUN_ID,
        "which": "replay",
        "run_name": "train",
        "captured_at": "2026-12-05T08:00:00+00:00",
    }
    assert result == {"path": "copies/train-01234567.replay.ipynb", **context}
    nb = nbformat.read(tmp_path / result["path"], as_version=4)
    assert [c.source for c in nb.cells] == ["x = 1", "print(x)"]
    # The copy names its run (JupyterLab's banner on it reads this).
    assert nb.metadata["nbrepro"] == {"replay": True, "executions": 2, **context}
    assert "run_id" not in run.replay().metadata["nbrepro"]  # the cached replay is untouched
    assert write_copy(run, "replay", tmp_path, "copies") == result
    assert [p.name for p in (tmp_path / "copies").iterdir()] == ["train-01234567.replay.ipynb"]
    unnamed = write_copy(fake_run(run_name=None), "replay", tmp_path, "copies")
    assert unnamed["path"] == "copies/mlflow-name-01234567.replay.ipynb"
    assert unnamed["run_name"] == "mlflow-name"


def test_a_document_copy_says_when_it_was_saved(tmp_path: Path) -> None:
    """The document may be older than what ran: its copy says when it was saved."""
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 0")]))
    run = fake_run(
        document={
            "path": "/w/train.ipynb",
            "available": True,
            "modified_at": "2026-12-05T07:58:00+00:00",
        }
    )
    run.artifact_text = lambda key: text  # type: ignore[method-assign]
    result = write_copy(run, "document", tmp_path, "copies")
    assert result["saved_at"] == "2026-12-05T07:58:00+00:00"
    nb = nbformat.read(tmp_path / result["path"], as_version=4)
    assert nb.metadata["nbrepro"]["saved_at"] == "2026-12-05T07:58:00+00:00"
    assert nb.metadata["nbrepro"]["captured_at"] == "2026-12-05T08:00:00+00:00"


def test_a_document_not_captured_says_why() -> None:
    run = fake_run(
        document={"path": None, "available": False, "missing_reason": "no notebook path known"}
    )
    with pytest.raises(NotCaptured, match="did not record its notebook: no notebook path known"):
        notebook_copy(run, "document")
    with pytest.raises(ValueError, match="which must be one of replay, document"):
        notebook_copy(run, "html")


def test_errors_map_to_statuses() -> None:
    from nbrepro.server.base import error_response

    assert error_response(NotCaptured("x"))[:3:2] == (404, "not-captured")
    assert error_response(FolderOutsideRoot("x"))[:3:2] == (500, "outside-root")
