"""Talking to the MLflow tracking store: where runs go and how a capture is logged.

A capture is logged with a constant number of calls whatever the number of tags,
params or Delta reads: one ``log_batch``, one ``log_inputs``, one
``log_artifacts`` of a folder, one ``set_terminated``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbrepro import paths
from nbrepro.errors import TrackingUnavailable
from nbrepro.record.bundle import LogBundle
from nbrepro.record.tags import MLFLOW_DATASET_CONTEXT_TAG
from nbrepro.redact import strip_uri_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

DEFAULT_EXPERIMENT = "nbrepro"
HEALTH_TIMEOUT_S = 3.0


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """The store to use: an explicit URI, else ``MLFLOW_TRACKING_URI``, else nbrepro's default.

    ``MLFLOW_TRACKING_URI`` wins over nbrepro's default, as MLflow users expect.
    """
    if explicit:
        return explicit
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return paths.default_tracking_uri()


def display_uri(uri: str) -> str:
    """A tracking URI fit to show or record: credentials removed."""
    return strip_uri_credentials(uri)


def check_reachable(uri: str, timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Fail fast when the store cannot take writes.

    MLflow's own client retries for minutes against a dead server; a capture should
    instead spool at once. HTTP stores are probed at ``/health``; SQLite stores need a
    writable folder for the database file.

    Raises:
        TrackingUnavailable: with the reason, naming the store (without credentials).
    """
    shown = display_uri(uri)
    if uri.startswith(("http://", "https://")):
        import requests

        try:
            resp = requests.get(uri.rstrip("/") + "/health", timeout=timeout)
        except requests.RequestException as exc:
            raise TrackingUnavailable(shown, f"cannot connect ({type(exc).__name__})") from exc
        if resp.status_code >= 500:
            raise TrackingUnavailable(shown, f"health check answered HTTP {resp.status_code}")
    elif (db := paths.sqlite_path(uri)) is not None:
        folder = db.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackingUnavailable(shown, f"cannot create {folder}: {exc}") from exc
        target = db if db.exists() else folder
        if not os.access(target, os.W_OK):
            raise TrackingUnavailable(shown, f"{target} is not writable")


@functools.lru_cache(maxsize=16)
def client_for(uri: str) -> MlflowClient:
    """An MlflowClient bound to ``uri`` (imports mlflow on first use; one per URI)."""
    from mlflow import MlflowClient

    db = paths.sqlite_path(uri)
    if db is None:
        return MlflowClient(tracking_uri=uri)
    with _store_guard(db):
        client = MlflowClient(tracking_uri=uri)
        # The first search builds the model registry's store too.
        client.search_experiments(max_results=1)
    return client


def _store_guard(db: Path) -> contextlib.AbstractContextManager[Any]:
    """A lock beside a SQLite store, so that processes open it one at a time.

    MLflow creates and migrates the schema when a process first opens a store. On a
    new store, two processes doing it at once (on first use, a kernel's capture and
    the Jupyter server's runs list) make one of them fail ("duplicate column name",
    "Online migration expected to match one row"), and that capture would be spooled
    for nothing.
    """
    lock = db.with_name(db.name + ".lock")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        lock.touch()
    except OSError:  # an unwritable folder: opened unlocked, and check_reachable says why
        return contextlib.nullcontext()
    return paths.file_lock(lock)


_experiment_ids: dict[tuple[str, str], str] = {}


def ensure_experiment(client: MlflowClient, uri: str, name: str, cached: bool = False) -> str:
    """Id of experiment ``name``, created if missing.

    On a local SQLite store the artifacts go next to the database rather than
    under the creating process's working directory. With ``cached``, an id found
    earlier in this process is reused (a capture saves a lookup); callers retry
    uncached if the store then refuses it.
    """
    if cached and (uri, name) in _experiment_ids:
        return _experiment_ids[(uri, name)]
    exp_id = _lookup_or_create(client, uri, name)
    _experiment_ids[(uri, name)] = exp_id
    return exp_id


def forget_experiment(uri: str, name: str) -> None:
    """Drop a cached experiment id (it was deleted or the store was reset)."""
    _experiment_ids.pop((uri, name), None)


def _lookup_or_create(client: MlflowClient, uri: str, name: str) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name, artifact_location=_artifact_location(uri, name)))
    except MlflowException:
        # Another process created it between our lookup and create.
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _artifact_location(uri: str, name: str) -> str | None:
    root = paths.artifact_root_for(uri)
    if root is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return str(Path(root) / safe)


def _dataset_inputs(reads: Iterable[Mapping[str, Any]]) -> list[Any]:
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    inputs = []
    for read in reads:
        source = DeltaDatasetSource(
            path=read["uri"],
            delta_table_version=read["version"],
            delta_table_id=read.get("table_id"),
        )
        name = f"{Path(str(read['uri']).rstrip('/')).name or read['uri']}@v{read['version']}"
        # The digest carries table id and version: MLflow de-duplicates datasets per
        # experiment by name+digest, and a later version must not reuse an old source.
        digest_src = f"{read.get('table_id')}:{read['version']}:{read.get('file_fingerprint')}"
        digest = hashlib.sha256(digest_src.encode()).hexdigest()[:16]
        dataset = MetaDataset(source=source, name=name, digest=digest)  # type: ignore[abstract]
        inputs.append(
            DatasetInput(
                dataset=dataset._to_mlflow_entity(),
                tags=[InputTag(key=MLFLOW_DATASET_CONTEXT_TAG, value="delta-read")],
            )
        )
    return inputs


def log_bundle(client: MlflowClient, run_id: str, bundle: LogBundle) -> None:
    """Log nbrepro's part of a run with a constant number of calls."""
    from mlflow.entities import Param, RunTag

    params = [Param(k, v) for k, v in bundle.params.items()]
    tags = [RunTag(k, v) for k, v in bundle.tags.items()]
    if params or tags:
        client.log_batch(run_id, params=params, tags=tags)
    if bundle.datasets:
        client.log_inputs(run_id, datasets=_dataset_inputs(bundle.datasets))
    with tempfile.TemporaryDirectory(prefix="nbrepro-artifacts-") as tmp:
        write_files(Path(tmp), bundle.files)
        client.log_artifacts(run_id, tmp)


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``root``."""
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_uploads: list[Future[None]] = []


@functools.lru_cache(maxsize=1)
def _worker() -> ProcessPoolExecutor:
    # One spawned process for the kernel's lifetime: CPU-bound rendering there does not
    # hold this process's GIL, so the user's next cells run at full speed. Spawned, not
    # forked: a kernel has threads (zmq, heartbeats) that fork would copy half-alive.
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def _produce_and_log(uri: str, run_id: str, rel_path: str, produce: Callable[[], bytes]) -> None:
    data = produce()
    with tempfile.TemporaryDirectory(prefix="nbrepro-upload-") as tmp:
        target = Path(tmp) / Path(rel_path).name
        target.write_bytes(data)
        client_for(uri).log_artifact(run_id, str(target), artifact_path=str(Path(rel_path).parent))


def upload_later(
    uri: str,
    run_id: str,
    rel_path: str,
    produce: Callable[[], bytes],
    on_error: Callable[[str], None],
) -> Future[None]:
    """Produce and log one artifact in nbrepro's worker process.

    For artifacts that are costly to make and not needed by the cell (the HTML
    rendering): the cell returns first. ``produce`` must be picklable. Pending
    uploads are waited for at interpreter exit, so closing a kernel right after a
    capture loses nothing.
    """
    future = _worker().submit(_produce_and_log, uri, run_id, rel_path, produce)

    def done(f: Future[None]) -> None:
        exc = f.exception()
        if exc is not None:
            on_error(f"{rel_path} for run {run_id} was not logged: {type(exc).__name__}: {exc}")

    future.add_done_callback(done)
    # Finished uploads are dropped here: a long kernel session makes many captures.
    _uploads[:] = [f for f in _uploads if not f.done()]
    _uploads.append(future)
    return future


def wait_for_uploads(timeout: float | None = None) -> bool:
    """Wait for background uploads; True when none is left running."""
    done, _ = wait(list(_uploads), timeout=timeout)
    for future in done:
        _uploads.remove(future)
    return not _uploads


atexit.register(wait_for_uploads, 60.0)
