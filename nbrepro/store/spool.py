"""Captures that could not reach the tracking store wait here until ``nbrepro sync``.

A spool entry is a folder ``<spool>/<capture_id>/`` holding ``entry.json`` and a
local SQLite MLflow store with one run: either the whole run (the store was down
when the capture started, so the user's own ``mlflow.log_*`` calls went there
too) or only nbrepro's part (the store failed while logging, and the run exists
on the target already). Sync copies the local run into the target run, creating
it if needed. Each step is written to ``entry.json`` before the next, and the
created run is tagged ``nbrepro.capture_id``, so syncing twice never creates a
duplicate.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nbrepro import paths, record
from nbrepro.errors import NbreproError, TrackingUnavailable
from nbrepro.record.tags import CAPTURE_ID_TAG, MLFLOW_LOG_MODEL_TAG_PREFIX, MLFLOW_RUN_NAME_TAG
from nbrepro.store.tracking import (
    check_reachable,
    client_for,
    display_uri,
    ensure_experiment,
)

ENTRY_FILE = "entry.json"
_BATCH = 900


@dataclass
class SpoolEntry:
    """One capture waiting for upload."""

    capture_id: str
    target_tracking_uri: str
    experiment_name: str
    local_tracking_uri: str
    local_run_id: str | None = None
    target_run_id: str | None = None
    created_at: str = field(default_factory=record.utcnow_iso)
    reason: str = ""
    stages: list[str] = field(default_factory=list)
    synced: bool = False
    last_error: str | None = None

    @property
    def folder(self) -> Path:
        return paths.spool_dir() / self.capture_id

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # The target URI may carry credentials: the file is private to the user.
        paths.write_json_atomic(self.folder / ENTRY_FILE, asdict(self))


def new_entry(capture_id: str, target_uri: str, experiment: str, reason: str) -> SpoolEntry:
    """Create the spool folder and its local store for a capture."""
    folder = paths.spool_dir() / capture_id
    folder.mkdir(parents=True, exist_ok=True)
    entry = SpoolEntry(
        capture_id=capture_id,
        target_tracking_uri=target_uri,
        experiment_name=experiment,
        local_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        reason=reason,
    )
    entry.save()
    return entry


def load_entries(include_synced: bool = False) -> list[SpoolEntry]:
    """Spool entries, oldest first."""
    root = paths.spool_dir()
    if not root.is_dir():
        return []
    entries = []
    for path in sorted(root.glob(f"*/{ENTRY_FILE}")):
        try:
            data = json.loads(path.read_text("utf-8"))
            entry = SpoolEntry(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise NbreproError(f"spool entry {path} is unreadable: {exc}") from exc
        if include_synced or not entry.synced:
            entries.append(entry)
    entries.sort(key=lambda e: e.created_at)
    return entries


@dataclass
class SyncResult:
    capture_id: str
    run_id: str | None
    ok: bool
    message: str


def sync_all(target_uri: str | None = None) -> list[SyncResult]:
    """Upload every pending capture; one failing entry does not stop the others."""
    results = []
    for entry in load_entries():
        try:
            run_id = sync_entry(entry, target_uri)
            results.append(SyncResult(entry.capture_id, run_id, True, "uploaded"))
        except (NbreproError, OSError) as exc:
            entry.last_error = str(exc)
            entry.save()
            results.append(SyncResult(entry.capture_id, entry.target_run_id, False, str(exc)))
        except Exception as exc:  # MlflowException and transport errors from the store
            entry.last_error = f"{type(exc).__name__}: {exc}"
            entry.save()
            results.append(SyncResult(entry.capture_id, entry.target_run_id, False, str(exc)))
    return results


def sync_entry(entry: SpoolEntry, target_uri: str | None = None) -> str:
    """Copy one spooled capture into its target store; returns the target run id."""
    uri = target_uri or entry.target_tracking_uri
    check_reachable(uri)
    if entry.local_run_id is None:
        raise NbreproError(f"spool entry {entry.capture_id} holds no run")
    src = client_for(entry.local_tracking_uri)
    dst = client_for(uri)
    local = src.get_run(entry.local_run_id)

    if entry.target_run_id is None:
        entry.target_run_id = _find_synced(dst, uri, entry) or _create_target(
            dst, uri, entry, local
        )
        entry.stages.append("created")
        entry.save()
    run_id = entry.target_run_id

    if "data" not in entry.stages:
        _copy_data(src, dst, entry.local_run_id, run_id)
        entry.stages.append("data")
        entry.save()
    if "artifacts" not in entry.stages:
        _copy_artifacts(src, dst, entry, run_id, uri)
        entry.stages.append("artifacts")
        entry.save()
    if "terminated" not in entry.stages:
        status = local.info.status if local.info.status != "RUNNING" else "FAILED"
        dst.set_terminated(run_id, status=status, end_time=local.info.end_time)
        entry.stages.append("terminated")
    entry.synced = True
    entry.last_error = None
    entry.save()
    return run_id


def _find_synced(dst: Any, uri: str, entry: SpoolEntry) -> str | None:
    exp = dst.get_experiment_by_name(entry.experiment_name)
    if exp is None:
        return None
    found = dst.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`{CAPTURE_ID_TAG}` = '{entry.capture_id}'",
        max_results=1,
    )
    return str(found[0].info.run_id) if found else None


def _create_target(dst: Any, uri: str, entry: SpoolEntry, local: Any) -> str:
    exp_id = ensure_experiment(dst, uri, entry.experiment_name)
    run = dst.create_run(
        exp_id,
        start_time=local.info.start_time,
        tags={CAPTURE_ID_TAG: entry.capture_id},
        run_name=local.info.run_name,
    )
    return str(run.info.run_id)


def _copy_data(src: Any, dst: Any, local_run_id: str, run_id: str) -> None:
    from mlflow.entities import Metric, Param, RunTag

    local = src.get_run(local_run_id)
    existing = dst.get_run(run_id).data.params
    params = [Param(k, v) for k, v in local.data.params.items() if k not in existing]
    tags = [
        RunTag(k, v)
        for k, v in local.data.tags.items()
        if k not in (MLFLOW_RUN_NAME_TAG,) and not k.startswith(MLFLOW_LOG_MODEL_TAG_PREFIX)
    ]
    metrics: list[Metric] = []
    for key in local.data.metrics:
        metrics.extend(src.get_metric_history(local_run_id, key))
    for i in range(0, max(len(params), 1), 100):
        if params[i : i + 100]:
            dst.log_batch(run_id, params=params[i : i + 100])
    for i in range(0, len(tags), 100):
        dst.log_batch(run_id, tags=tags[i : i + 100])
    for i in range(0, len(metrics), _BATCH):
        dst.log_batch(run_id, metrics=metrics[i : i + _BATCH])
    datasets = list(local.inputs.dataset_inputs) if local.inputs else []
    if datasets:
        dst.log_inputs(run_id, datasets=datasets)


def _copy_artifacts(src: Any, dst: Any, entry: SpoolEntry, run_id: str, uri: str) -> None:
    with tempfile.TemporaryDirectory(prefix="nbrepro-sync-") as tmp:
        assert entry.local_run_id is not None
        local_root = Path(src.download_artifacts(entry.local_run_id, "", tmp))
        rec_path = local_root / record.RECORD_ARTIFACT
        if rec_path.exists():
            # The record named the local run; it now describes the uploaded one.
            rec = json.loads(rec_path.read_text("utf-8"))
            run = dst.get_run(run_id)
            rec["run"]["run_id"] = run_id
            rec["run"]["experiment_id"] = str(run.info.experiment_id)
            rec["run"]["tracking_uri"] = display_uri(uri)
            rec["run"]["offline"] = True
            rec_path.write_text(record.dumps(rec), "utf-8")
        if any(local_root.iterdir()):
            dst.log_artifacts(run_id, str(local_root))


def discard(entry: SpoolEntry) -> None:
    """Delete a spool entry's folder (after a successful sync, on request)."""
    shutil.rmtree(entry.folder, ignore_errors=False)


__all__ = [
    "SpoolEntry",
    "SyncResult",
    "TrackingUnavailable",
    "discard",
    "load_entries",
    "new_entry",
    "sync_all",
    "sync_entry",
]
