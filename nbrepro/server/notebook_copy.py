"""A run's notebook written as a file under the Jupyter server's root, to open in JupyterLab.

Two notebooks can be opened: the *replay* (``nbrepro/replay.ipynb``: the code as the
kernel executed it, in execution order, which a rerun executes) and the *document*
(``nbrepro/notebook.ipynb``: the notebook file as saved at capture, when the run
recorded it). Both are copies, written into one folder of the root
(``c.NbreproServer.open_dir``); opening the same notebook of the same run again
rewrites the same file.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat

from nbrepro.errors import NbreproError
from nbrepro.store.runs import CapturedRun, RunNotUsable

WHICH = ("replay", "document")
DEFAULT_FOLDER = "nbrepro-runs"
_NAME_LENGTH = 60


class NotCaptured(NbreproError):
    """The run did not record the notebook asked for."""


class FolderOutsideRoot(NbreproError):
    """The configured folder for copies is not inside the server's root."""


def copy_folder(root: Path, setting: str) -> Path:
    """The folder copies are written to.

    Args:
        root: The server's root folder.
        setting: ``c.NbreproServer.open_dir``: relative to ``root``, or absolute inside
            it; empty for :data:`DEFAULT_FOLDER`.

    Raises:
        FolderOutsideRoot: ``setting`` names a folder outside ``root`` (JupyterLab
            could not open a file there).
    """
    root = root.resolve()
    folder = (root / (setting or DEFAULT_FOLDER)).resolve()
    if folder != root and root not in folder.parents:
        raise FolderOutsideRoot(
            f"c.NbreproServer.open_dir {setting!r} is outside the server's root {root}: "
            "set it to a folder inside the root"
        )
    return folder


def copy_name(run_id: str, run_name: str | None, which: str) -> str:
    """The copy's file name: ``<run name>-<id8>.<which>.ipynb`` (``run-<id8>...`` unnamed).

    The run name is reduced to letters, digits, ``.``, ``_`` and ``-``, so that it
    names one file in the folder whatever it holds; the id keeps runs of the same
    name apart.
    """
    stem = re.sub(r"[^\w.-]+", "-", run_name or "").strip(".-_")[:_NAME_LENGTH]
    return f"{stem.rstrip('.-_') or 'run'}-{run_id[:8]}.{which}.ipynb"


def notebook_copy(captured: CapturedRun, which: str) -> nbformat.NotebookNode:
    """The run's replay or document, with ``metadata.nbrepro`` naming the run.

    Raises:
        ValueError: ``which`` is not one of :data:`WHICH`.
        NotCaptured: the document was not recorded (the message says why).
        RunNotUsable: the artifact is missing or corrupted.
    """
    if which == "replay":
        nb = copy.deepcopy(captured.replay())
    elif which == "document":
        doc = captured.record["code"]["document"]
        if not doc.get("available"):
            reason = doc.get("missing_reason") or "no reason was recorded"
            raise NotCaptured(f"run {captured.run_id} did not record its notebook: {reason}")
        try:
            nb = nbformat.reads(captured.artifact_text("document"), as_version=4)
        except (ValueError, json.JSONDecodeError) as exc:
            raise RunNotUsable(
                f"run {captured.run_id}: nbrepro/notebook.ipynb is corrupted: {exc}"
            ) from exc
    else:
        raise ValueError(f"which must be one of {', '.join(WHICH)}, not {which!r}")
    # The replay's own metadata (executions count) is kept alongside.
    known = nb.metadata.get("nbrepro")
    # What JupyterLab's banner on the copy says: which run, when it was captured, and
    # for the document when it was saved (it may be older than what ran).
    nb.metadata["nbrepro"] = {
        **(known if isinstance(known, dict) else {}),
        **copy_context(captured, which),
    }
    return nb


def copy_context(captured: CapturedRun, which: str) -> dict[str, Any]:
    """The run a copy is of (``metadata.nbrepro`` of the copy, and the API's
    ``OpenResult``): id, name, when captured and, for the document, when it was saved."""
    rec = captured.record
    context: dict[str, Any] = {
        "run_id": captured.run_id,
        "which": which,
        "run_name": rec["run"].get("run_name") or captured.run.info.run_name,
        "captured_at": rec.get("created_at"),
    }
    if which == "document":
        context["saved_at"] = rec["code"]["document"].get("modified_at")
    return context


def write_copy(captured: CapturedRun, which: str, root: Path, folder: str) -> dict[str, Any]:
    """Write the run's replay or document under ``root``, replacing an earlier copy.

    Args:
        captured: The run.
        which: ``"replay"`` or ``"document"``.
        root: The server's root folder.
        folder: Where in the root (``c.NbreproServer.open_dir``, see :func:`copy_folder`).

    Returns:
        ``{"path", "run_id", "which"}``, the path relative to ``root`` in POSIX form
        (what JupyterLab's document manager opens).
    """
    root = root.resolve()
    target_folder = copy_folder(root, folder)
    nb = notebook_copy(captured, which)
    run_name = captured.record["run"].get("run_name") or captured.run.info.run_name
    target = target_folder / copy_name(captured.run_id, run_name, which)
    target_folder.mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed: a JupyterLab tab showing the copy never reads half a file.
    partial = target.with_name(f".{target.name}.partial")
    try:
        nbformat.write(nb, str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return {"path": target.relative_to(root).as_posix(), **copy_context(captured, which)}
