"""Reading captured runs back from MLflow, with errors that say what is wrong.

Every failure a user can cause (a mistyped run id, a run nbrepro did not
capture, a record of an unknown version, missing or corrupted artifacts) is a
:class:`RunNotUsable` with one sentence naming the run and the store searched.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from nbrepro import record
from nbrepro.capture.history import same_source, was_executed
from nbrepro.errors import NbreproError, RecordError, TrackingUnavailable, cell_label
from nbrepro.record.tags import CAPTURE_ERROR_TAG, is_nbrepro_run
from nbrepro.store.tracking import client_for, display_uri

RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class RunNotUsable(NbreproError):
    """A run cannot be read, re-executed or compared (user input; exit code 2)."""


class RunNotFound(RunNotUsable):
    """The tracking store has no run with this id (HTTP 404)."""


@dataclass
class CapturedRun:
    """One nbrepro run: MLflow's view of it plus its record."""

    run: Any  # mlflow.entities.Run
    record: dict[str, Any]
    tracking_uri: str
    _replay: nbformat.NotebookNode | None = None
    _outputs: dict[bool, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    _labels: dict[int, str] | None = None

    @property
    def run_id(self) -> str:
        return str(self.run.info.run_id)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.run.data.params)

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.run.data.metrics)

    @property
    def experiment_name(self) -> str | None:
        name = self.record["run"].get("experiment_name")
        return str(name) if name else None

    def artifact_text(self, key: str) -> str:
        """Text of one of the run's nbrepro artifacts (a key of ``record.ARTIFACT_PATHS``)."""
        path = record.ARTIFACT_PATHS[key]
        client = client_for(self.tracking_uri)
        try:
            with tempfile.TemporaryDirectory(prefix="nbrepro-fetch-") as tmp:
                local = client.download_artifacts(self.run_id, path, tmp)
                return Path(local).read_text("utf-8")
        except Exception as exc:  # MlflowException, OSError: the artifact is gone
            raise RunNotUsable(
                f"run {self.run_id} is missing its artifact {path} "
                f"({type(exc).__name__}: {str(exc)[:200]})"
            ) from exc

    def replay(self) -> nbformat.NotebookNode:
        """The replay notebook (what a rerun executes)."""
        if self._replay is None:
            text = self.artifact_text("replay")
            try:
                self._replay = nbformat.reads(text, as_version=4)
            except (ValueError, json.JSONDecodeError) as exc:
                raise RunNotUsable(
                    f"run {self.run_id}: nbrepro/replay.ipynb is corrupted: {exc}"
                ) from exc
        return self._replay

    @property
    def reproduces(self) -> str | None:
        """The run this one re-executed, when it is a rerun."""
        value = self.record["run"].get("reproduces")
        return str(value) if value else None

    def re_executes(self, original: CapturedRun) -> bool:
        """Whether this run is a rerun of ``original`` (its cells know which they replay)."""
        return self.reproduces is not None and self.reproduces == original.run_id

    def cell_keys(self, by_origin: bool) -> list[int | None]:
        """Each recorded execution's identity, in the executed order.

        By position in this run's own executed sequence; ``by_origin``: by the
        original's execution each one replays (a rerun compared with its original),
        None for a cell no execution of the original stands for (papermill's new
        parameters cell).
        """
        cells = self.record["code"]["cells"]
        origins = [cell.get("origin") for cell in cells]
        if not by_origin or all(o is None for o in origins):
            # A rerun of a replay from before replays carried positions: its cells are
            # the original's, in order.
            return list(range(len(cells)))
        return origins

    @property
    def records_every_cell(self) -> bool:
        """Whether the run recorded the outputs of every cell it executed (headless)."""
        return bool(
            self.record["mode"] == "headless" and self.record["code"]["document"]["available"]
        )

    def capped_outputs(self) -> dict[int, int]:
        """Cells whose recorded outputs were cut at a byte cap: cell identity (by
        position) to the cap. Only a ``%%repro`` capture's own cell is ever cut."""
        code = self.record["code"]
        limit = code.get("outputs_limit")
        cell = code.get("capture_cell")
        if not code.get("outputs_truncated") or limit is None or cell is None:
            return {}
        key = self.cell_keys(False)[int(cell)]
        return {} if key is None else {key: int(limit)}

    def executed_outputs(self, by_origin: bool = False) -> dict[int, list[dict[str, Any]]]:
        """Outputs per cell identity (see :meth:`cell_keys`), as far as the run recorded them.

        Headless runs record the executed notebook (every cell's outputs); magic runs
        record the ``%%repro`` cell's own outputs; a sidebar capture, which saves the
        notebook first, the saved outputs of each cell that shows the execution count and
        source of its last execution in the session.
        """
        if by_origin not in self._outputs:
            self._outputs[by_origin] = self._read_outputs(by_origin)
        return self._outputs[by_origin]

    def _read_outputs(self, by_origin: bool) -> dict[int, list[dict[str, Any]]]:
        code = self.record["code"]
        keys = self.cell_keys(by_origin)
        outputs: dict[int, list[dict[str, Any]]] = {}
        if self.records_every_cell:
            doc = nbformat.reads(self.artifact_text("document"), as_version=4)
            executed = [c for c in doc.cells if was_executed(c)]
            for position, cell in enumerate(executed):
                key = keys[position] if position < len(keys) else None
                if key is not None:
                    outputs[key] = [dict(o) for o in cell.get("outputs", [])]
        elif code.get("capture_cell") is not None:
            key = keys[int(code["capture_cell"])]
            try:
                recorded = json.loads(self.artifact_text("outputs"))
            except json.JSONDecodeError as exc:
                raise RunNotUsable(
                    f"run {self.run_id}: nbrepro/capture_outputs.json is corrupted"
                ) from exc
            if key is not None:
                outputs[key] = recorded
        elif self.record["mode"] == "sidebar" and code["document"]["available"]:
            doc = nbformat.reads(self.artifact_text("document"), as_version=4)
            last_run = {c.get("doc_index"): k for k, c in enumerate(code["cells"])}
            for doc_index, k in last_run.items():
                key = keys[k]
                if doc_index is None or doc_index >= len(doc.cells) or key is None:
                    continue
                saved, ran = doc.cells[doc_index], code["cells"][k]
                # Saved outputs are this execution's only if the cell shows its count.
                if (
                    saved.cell_type == "code"
                    and saved.get("execution_count") == ran.get("execution_count")
                    and same_source(saved.source, ran["source"])
                ):
                    outputs[key] = [dict(o) for o in saved.get("outputs", [])]
        return outputs

    def cell_labels(self) -> dict[int, str]:
        """How a reader finds each execution in JupyterLab, by position: ``In [7] (cell 3)``.

        ``cell 3`` is the cell's place in the user's notebook counting from 1 (markdown
        cells included, as JupyterLab lists them) and ``In [7]`` its execution count. A
        rerun executed a replay, which holds only the executed cells: its own places are
        no place in the user's notebook, so its cells are named as the notebook it
        replays names them (each replayed cell keeps that place and count).
        """
        if self._labels is not None:
            return dict(self._labels)
        cells = self.record["code"]["cells"]
        places = self._replayed_places() if self.reproduces else {}
        labels = {}
        for k, cell in enumerate(cells):
            place = places.get(cell.get("doc_index"))
            labels[k] = (
                cell_label(place.get("doc_index"), place.get("execution_count"))
                if place is not None
                else cell_label(cell.get("doc_index"), cell.get("execution_count"))
            )
        self._labels = labels
        return dict(labels)

    def _replayed_places(self) -> dict[int, dict[str, Any]]:
        """A rerun's executed replay: each cell's index to the ``metadata.nbrepro`` of the
        original's execution it replays (``doc_index``, ``execution_count``)."""
        if not self.records_every_cell:
            return {}
        doc = nbformat.reads(self.artifact_text("document"), as_version=4)
        places = {}
        for index, cell in enumerate(doc.cells):
            meta = (cell.get("metadata") or {}).get("nbrepro") or {}
            # Replays from before they carried the original's place name nothing.
            if "position" in meta and (
                meta.get("doc_index") is not None or meta.get("execution_count") is not None
            ):
                places[index] = {
                    "doc_index": meta.get("doc_index"),
                    "execution_count": meta.get("execution_count"),
                }
        return places


def label_of(labels: Mapping[int, str], key: int) -> str:
    """A cell's label, or (a key no label names) its place among the executions, from 1."""
    return labels.get(key) or f"execution {key + 1}"


def load_run(run_id: str, tracking_uri: str) -> CapturedRun:
    """Fetch a captured run and its validated record."""
    from mlflow.exceptions import MlflowException

    shown = display_uri(tracking_uri)
    if not RUN_ID_RE.match(run_id):
        raise RunNotUsable(f"{run_id!r} is not an MLflow run id (32 hex characters)")
    client = client_for(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RunNotFound(f"no run {run_id} in the tracking store {shown}") from exc
        if exc.error_code == "ENDPOINT_NOT_FOUND":  # a 404 that is not MLflow's answer
            raise TrackingUnavailable(
                shown,
                "it answered 404 Not Found to MLflow's API: is the tracking URI (its path "
                "included) that of an MLflow tracking server?",
            ) from exc
        raise
    tags = run.data.tags
    if not is_nbrepro_run(tags):
        raise RunNotUsable(
            f"run {run_id} in {shown} was not captured by nbrepro (no nbrepro.* tags); "
            "capture it with %%repro or `nbrepro run`"
        )
    if tags.get(CAPTURE_ERROR_TAG):
        raise RunNotUsable(
            f"run {run_id}: nbrepro failed while capturing it ({tags[CAPTURE_ERROR_TAG]})"
        )
    partial = CapturedRun(run=run, record={}, tracking_uri=tracking_uri)
    text = partial.artifact_text("record")
    try:
        rec = record.loads(text)
    except RecordError as exc:
        raise RunNotUsable(f"run {run_id}: {exc}") from exc
    return CapturedRun(run=run, record=rec, tracking_uri=tracking_uri)
