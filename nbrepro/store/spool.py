"""Captures that could not reach the tracking store wait here until ``nbrepro sync``.

A spool entry is a folder ``<spool>/<capture_id>/`` holding ``entry.json`` and
either (``kind`` "run") a local SQLite MLflow store with the whole run (the store
was down when the capture started, so the user's own ``mlflow.log_*`` calls went
there too), or (``kind`` "bundle") nbrepro's part of a run that exists on the
target already, as plain files (the store failed while the capture was logged).
Both are quick to write, so a failing store holds a cell little longer than the
store timeout: a new local store is a copy of an empty one made once per MLflow
version (creating one takes seconds). The HTML rendering of a spooled capture is
made at sync, from the redacted notebook kept in the entry. Sync copies the
capture into the target run, creating it if needed. Each step is written to ``entry.json`` before the next, and the
created run is tagged ``nbrepro.capture_id``, so syncing twice never creates a
duplicate. An entry is removed once its upload is complete.

The process writing an entry (a kernel whose cell is still running, say) holds a
lock on its ``.writing`` file until it is done; sync leaves such an entry for later.
One sync runs at a time (``.sync.lock``).

No credential is written to the spool: the target URI is kept without them, and
sync takes them from where MLflow does (``MLFLOW_TRACKING_URI`` naming the same
store, ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``/``TOKEN``, the AWS variables).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from nbrepro import paths, record
from nbrepro.errors import NbreproError, TrackingUnavailable
from nbrepro.record.tags import CAPTURE_ID_TAG, MLFLOW_LOG_MODEL_TAG_PREFIX, MLFLOW_RUN_NAME_TAG
from nbrepro.redact import safe_message
from nbrepro.store.tracking import (
    LogBundle,
    check_reachable,
    client_for,
    display_uri,
    ensure_experiment,
    log_bundle,
    quiet_run_urls,
    resolve_tracking_uri,
    write_files,
)

ENTRY_FILE = "entry.json"
BUNDLE_FILE = "bundle.json"
BUNDLE_FILES = "files"
HTML_SOURCE = "html-source.ipynb"
RUN, BUNDLE = "run", "bundle"
WRITING = ".writing"
SYNC_LOCK = ".sync.lock"
# Copies of captures stored after all, until deleted (retire).
RETIRED_DIR = ".retired"
BUSY_MESSAGE = "still being written by a running kernel: sync again once its cell has finished"
_BATCH = 900
# Spool folders this process is writing: the open files that hold their locks.
_writing: dict[str, IO[str]] = {}


def _start_writing(folder: Path) -> None:
    """Hold ``folder``'s writer lock until :func:`done_writing` (or this process ends)."""
    fh = paths.try_lock(folder / WRITING)
    if fh is not None:
        _writing[str(folder)] = fh


def done_writing(folder: Path) -> None:
    """Let sync take a spool folder this process has finished writing."""
    fh = _writing.pop(str(folder), None)
    if fh is not None:
        fh.close()


def _being_written(folder: Path) -> IO[str] | None:
    """None when another process holds ``folder``'s writer lock; else the open file
    that now holds it (sync keeps it while it uploads)."""
    if not folder.is_dir():
        return None
    try:
        return paths.try_lock(folder / WRITING)
    except FileNotFoundError:  # removed meanwhile: its kernel stored it
        return None


def _still_pending(entry: SpoolEntry) -> bool:
    """Whether ``entry`` still waits for sync, read again once its lock is held: a
    capture stored after its cell is marked synced, then removed, by its kernel."""
    try:
        data = json.loads((entry.folder / ENTRY_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return not data.get("synced")


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
    kind: str = RUN
    # For a bundle: the status to end the run with, and when it ended.
    status: str | None = None
    end_time: int | None = None
    # The redacted notebook is kept to render notebook.html (ARTIFACT_PATHS["html"]) at sync.
    html_pending: bool = False

    @property
    def folder(self) -> Path:
        return paths.spool_dir() / self.capture_id

    def keep_html_source(self, source: bytes) -> None:
        """Keep the notebook whose HTML rendering sync logs with the run."""
        (self.folder / HTML_SOURCE).write_bytes(source)
        self.html_pending = True
        self.save()

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        paths.write_json_atomic(self.folder / ENTRY_FILE, asdict(self))


def new_entry(capture_id: str, target_uri: str, experiment: str, reason: str) -> SpoolEntry:
    """Create the spool folder and its local store for a capture."""
    folder = paths.spool_dir() / capture_id
    folder.mkdir(parents=True, exist_ok=True)
    _start_writing(folder)
    entry = SpoolEntry(
        capture_id=capture_id,
        # Credentials stay out of the spool: sync finds them again (see target_uri_for).
        target_tracking_uri=display_uri(target_uri),
        experiment_name=experiment,
        local_tracking_uri=_new_local_store(folder / "mlflow.db"),
        reason=safe_message(reason),
    )
    entry.save()
    return entry


def _new_local_store(db: Path) -> str:
    """A local SQLite store at ``db``: a copy of an empty store made once per MLflow
    version (MLflow takes seconds to create one, and a cell waits for it)."""
    import mlflow

    template = paths.spool_dir() / f".empty-mlflow-{mlflow.__version__}.db"
    uri = f"sqlite:///{db}"
    if template.is_file():
        shutil.copyfile(template, db)
        return uri
    client_for(uri)  # creates the schema
    partial = template.with_name(f"{template.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(db, partial)
        os.replace(partial, template)
    except OSError:  # the next entry makes its own store again
        with contextlib.suppress(OSError):
            partial.unlink()
    return uri


def spool_bundle(
    capture_id: str,
    target_uri: str,
    experiment: str,
    reason: str,
    run_id: str,
    bundle: LogBundle,
    status: str,
) -> SpoolEntry:
    """Keep nbrepro's part of run ``run_id`` (in the store already) as files."""
    folder = paths.spool_dir() / capture_id
    folder.mkdir(parents=True, exist_ok=True)
    _start_writing(folder)
    entry = SpoolEntry(
        capture_id=capture_id,
        target_tracking_uri=display_uri(target_uri),
        experiment_name=experiment,
        local_tracking_uri="",
        target_run_id=run_id,
        reason=safe_message(reason),
        kind=BUNDLE,
        status=status,
        end_time=int(time.time() * 1000),
    )
    write_files(folder / BUNDLE_FILES, bundle.files)
    paths.write_json_atomic(
        folder / BUNDLE_FILE,
        {"tags": bundle.tags, "params": bundle.params, "datasets": bundle.datasets},
    )
    entry.save()
    return entry


def _read_bundle(entry: SpoolEntry) -> LogBundle:
    data = json.loads((entry.folder / BUNDLE_FILE).read_text("utf-8"))
    root = entry.folder / BUNDLE_FILES
    files = {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
    return LogBundle(data["tags"], files, data["datasets"], data["params"])


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
        except FileNotFoundError:  # removed meanwhile (a capture stored after its cell)
            continue
        except (OSError, ValueError, TypeError) as exc:
            raise NbreproError(f"spool entry {path} is unreadable: {exc}") from exc
        if include_synced or not entry.synced:
            entries.append(entry)
    entries.sort(key=lambda e: e.created_at)
    return entries


@dataclass
class SyncResult:
    """One spool entry's upload: ``run_id`` is the run's id in the store (the spool's
    ``local_run_id`` was only ever local)."""

    capture_id: str
    run_id: str | None
    ok: bool
    message: str
    local_run_id: str | None = None
    experiment_name: str = ""
    tracking_uri: str = ""
    removed: bool = False
    # Set when the entry was one artifact of a run already in the store.
    artifact: str | None = None
    # Left for a later sync: a kernel is still writing it (not a failure).
    busy: bool = False

    def line(self) -> str:
        """What became of the entry, for a person."""
        if self.ok:
            if self.artifact:
                return f"{self.artifact} logged to run {self.run_id}"
            where = f"{self.tracking_uri}, experiment {self.experiment_name!r}"
            return f"uploaded as run {self.run_id} ({where})"
        if self.busy:
            return f"left for later: {self.message}"
        return f"failed: {self.message}"


def target_uri_for(entry: SpoolEntry, explicit: str | None = None) -> str:
    """The store to upload ``entry`` to, with the credentials of this environment.

    ``explicit`` wins; else the store the entry was meant for, taken from
    ``MLFLOW_TRACKING_URI`` (or nbrepro's default) when that names the same store,
    since only that copy carries its credentials.
    """
    return _resolve_target(entry.target_tracking_uri, explicit)


def _resolve_target(recorded: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    current = resolve_tracking_uri()
    if display_uri(current) == display_uri(recorded):
        return current
    return recorded


def sync_all(target_uri: str | None = None) -> list[SyncResult]:
    """Upload every pending capture, then every pending artifact; one failing entry
    does not stop the others, and entries a kernel is still writing are left for later.

    Raises:
        NbreproError: another sync is running.
    """
    root = paths.spool_dir()
    if not root.is_dir():
        return []
    lock = paths.try_lock(root / SYNC_LOCK)
    if lock is None:
        raise NbreproError(
            "another `nbrepro sync` is uploading the spool; run it again once that one is done"
        )
    with lock:
        _clear_retired()
        return [*_sync_captures(target_uri), *_sync_uploads(target_uri)]


def _sync_uploads(target_uri: str | None) -> list[SyncResult]:
    results = []
    for up in load_uploads():
        uri = _resolve_target(up.target_tracking_uri, target_uri)
        result = SyncResult(
            up.capture_id,
            up.run_id,
            False,
            "",
            tracking_uri=display_uri(uri),
            artifact=up.artifact_path,
        )
        results.append(result)
        held = _being_written(up.folder)
        if held is None:  # the kernel's worker is uploading it right now
            result.busy, result.message = True, "being uploaded by its kernel"
            continue
        with held:
            try:
                sync_upload(up, uri)
            except Exception as exc:  # MlflowException, transport and rendering errors
                result.message = safe_message(f"{type(exc).__name__}: {exc}")
                up.last_error = result.message
                up.save()
            else:
                result.ok, result.removed = True, True
                result.message = f"{up.artifact_path} uploaded"
    return results


def _sync_captures(target_uri: str | None) -> list[SyncResult]:
    results = []
    for entry in load_entries():
        uri = target_uri_for(entry, target_uri)
        result = SyncResult(
            entry.capture_id,
            entry.target_run_id,
            False,
            "",
            local_run_id=entry.local_run_id,
            experiment_name=entry.experiment_name,
            tracking_uri=display_uri(uri),
        )
        results.append(result)
        held = _being_written(entry.folder)
        if held is None:
            result.busy, result.message = True, BUSY_MESSAGE
            continue
        with held:
            if not _still_pending(entry):
                results.pop()  # stored by its kernel meanwhile: nothing to say
                continue
            _sync_one(entry, uri, result)
    return results


def _sync_one(entry: SpoolEntry, uri: str, result: SyncResult) -> None:
    try:
        result.run_id = sync_entry(entry, uri)
    except (NbreproError, OSError) as exc:
        result.message = safe_message(str(exc))
    except Exception as exc:  # MlflowException and transport errors from the store
        result.message = safe_message(f"{type(exc).__name__}: {exc}")
    else:
        result.ok = True
        result.message = "uploaded"
        try:
            discard(entry)
            result.removed = True
        except OSError as exc:  # marked synced: never uploaded twice
            result.message = f"uploaded; the spool folder stays ({exc})"
    if not result.ok:
        entry.last_error = result.message
        entry.save()


def sync_entry(entry: SpoolEntry, target_uri: str | None = None) -> str:
    """Copy one spooled capture into its target store; returns the target run id."""
    uri = target_uri_for(entry, target_uri)
    check_reachable(uri)
    if entry.kind == BUNDLE:
        return _sync_bundle(entry, uri)
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
    status = local.info.status if local.info.status != "RUNNING" else "FAILED"
    return _terminate(entry, dst, run_id, status, local.info.end_time)


def _terminate(entry: SpoolEntry, dst: Any, run_id: str, status: str, end: int | None) -> str:
    """The last step of a sync: the run ended as the capture ended; the entry done."""
    if "terminated" not in entry.stages:
        with quiet_run_urls():
            dst.set_terminated(run_id, status=status, end_time=end)
        entry.stages.append("terminated")
    entry.synced = True
    entry.last_error = None
    entry.save()
    return run_id


def _sync_bundle(entry: SpoolEntry, uri: str) -> str:
    run_id = entry.target_run_id
    if run_id is None:
        raise NbreproError(f"spool entry {entry.capture_id} names no run")
    dst = client_for(uri)
    bundle = _read_bundle(entry)
    if "data" not in entry.stages:
        existing = dst.get_run(run_id).data.params
        meta = LogBundle(
            bundle.tags,
            {},
            bundle.datasets,
            {k: v for k, v in bundle.params.items() if k not in existing},
        )
        log_bundle(dst, run_id, meta)
        entry.stages.append("data")
        entry.save()
    if "artifacts" not in entry.stages:
        with tempfile.TemporaryDirectory(prefix="nbrepro-sync-") as tmp:
            write_files(Path(tmp), bundle.files)
            _render_pending_html(entry, Path(tmp))
            dst.log_artifacts(run_id, tmp)
        entry.stages.append("artifacts")
        entry.save()
    return _terminate(entry, dst, run_id, entry.status or "FINISHED", entry.end_time)


def _render_pending_html(entry: SpoolEntry, root: Path) -> None:
    """Render the entry's kept notebook into ``root`` as the run's notebook.html."""
    from nbrepro.capture.assemble import render_redacted_html
    from nbrepro.redact import secret_values

    source = entry.folder / HTML_SOURCE
    if not entry.html_pending or not source.is_file():
        return
    target = root / record.ARTIFACT_PATHS["html"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render_redacted_html(source.read_bytes(), secret_values(os.environ)))


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
        _render_pending_html(entry, local_root)
        if any(local_root.iterdir()):
            dst.log_artifacts(run_id, str(local_root))


UPLOADS_DIR = "uploads"
UPLOAD_FILE = "upload.json"
UPLOAD_SOURCE = "source.ipynb"


@dataclass
class PendingUpload:
    """An artifact made after the cell returned (the HTML rendering) that is not yet in
    its run: it is rendered and logged by the kernel's worker, and by sync if the worker
    failed or was killed with the kernel. Its source is the redacted notebook."""

    capture_id: str
    target_tracking_uri: str
    run_id: str
    artifact_path: str
    created_at: str = field(default_factory=record.utcnow_iso)
    last_error: str | None = None

    @property
    def folder(self) -> Path:
        return paths.spool_dir() / UPLOADS_DIR / self.capture_id

    def save(self) -> None:
        """Write its state; a no-op once the upload is done (its folder removed)."""
        with contextlib.suppress(FileNotFoundError):
            paths.write_json_atomic(self.folder / UPLOAD_FILE, asdict(self))


def save_upload(
    capture_id: str, target_uri: str, run_id: str, artifact_path: str, source: bytes
) -> PendingUpload:
    """Keep an artifact's source on disk until its upload is confirmed."""
    up = PendingUpload(capture_id, display_uri(target_uri), run_id, artifact_path)
    up.folder.mkdir(parents=True, exist_ok=True)
    # Held until the kernel's worker has tried: sync leaves the upload to it meanwhile.
    _start_writing(up.folder)
    (up.folder / UPLOAD_SOURCE).write_bytes(source)
    up.save()
    return up


def upload_done(folder: str) -> None:
    """Remove a pending upload once its artifact is in the store (picklable for the
    worker: a module-level function of a path)."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # another upload is pending: the folder stays
        Path(folder).parent.rmdir()


def load_uploads() -> list[PendingUpload]:
    """Pending uploads, oldest first."""
    root = paths.spool_dir() / UPLOADS_DIR
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob(f"*/{UPLOAD_FILE}")):
        try:
            found.append(PendingUpload(**json.loads(path.read_text("utf-8"))))
        except (OSError, ValueError, TypeError) as exc:
            raise NbreproError(f"pending upload {path} is unreadable: {exc}") from exc
    found.sort(key=lambda u: u.created_at)
    return found


def sync_upload(up: PendingUpload, target_uri: str | None = None) -> None:
    """Render and log one pending artifact, then forget it."""
    from nbrepro.capture.assemble import render_redacted_html
    from nbrepro.redact import secret_values

    uri = _resolve_target(up.target_tracking_uri, target_uri)
    check_reachable(uri)
    try:
        source = (up.folder / UPLOAD_SOURCE).read_bytes()
    except FileNotFoundError:  # uploaded by its kernel's worker as this sync began
        upload_done(str(up.folder))
        return
    data = render_redacted_html(source, secret_values(os.environ))
    with tempfile.TemporaryDirectory(prefix="nbrepro-sync-") as tmp:
        target = Path(tmp) / Path(up.artifact_path).name
        target.write_bytes(data)
        client_for(uri).log_artifact(
            up.run_id, str(target), artifact_path=str(Path(up.artifact_path).parent)
        )
    upload_done(str(up.folder))


def discard(entry: SpoolEntry) -> None:
    """Delete a spool entry's folder (after a successful sync, on request)."""
    shutil.rmtree(entry.folder, ignore_errors=False)


def retire(entry: SpoolEntry) -> Path | None:
    """Take the entry of a capture stored meanwhile out of the spool: one rename (sync
    sees all of it or none), the folder then deleted by whoever asked (its path
    returned). Where it cannot be moved it is marked synced and deleted here (None).
    Copies left by a kernel killed before deleting them go with the next sync."""
    retired = paths.spool_dir() / RETIRED_DIR / f"{entry.capture_id}-{uuid.uuid4().hex[:8]}"
    try:
        retired.parent.mkdir(exist_ok=True)
        entry.folder.rename(retired)
        return retired
    except OSError:
        entry.synced = True
        entry.save()
        discard(entry)
        return None


def _clear_retired() -> None:
    root = paths.spool_dir() / RETIRED_DIR
    for child in root.iterdir() if root.is_dir() else ():
        shutil.rmtree(child, ignore_errors=True)


__all__ = [
    "PendingUpload",
    "SpoolEntry",
    "SyncResult",
    "TrackingUnavailable",
    "discard",
    "done_writing",
    "load_entries",
    "load_uploads",
    "new_entry",
    "retire",
    "save_upload",
    "spool_bundle",
    "sync_all",
    "sync_entry",
    "sync_upload",
    "upload_done",
]
