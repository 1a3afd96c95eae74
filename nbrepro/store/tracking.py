"""Talking to the MLflow tracking store: where runs go and how a capture is logged.

A capture is logged with a constant number of calls whatever the number of tags,
params or Delta reads: one ``log_batch``, one ``log_inputs``, one
``log_artifacts`` of a folder, one ``set_terminated``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nbrepro import paths
from nbrepro.errors import TrackingUnavailable
from nbrepro.record.bundle import LogBundle
from nbrepro.record.tags import MLFLOW_DATASET_CONTEXT_TAG
from nbrepro.redact import safe_message, secret_values, strip_uri_credentials
from nbrepro.store.worker import WORKER

if TYPE_CHECKING:
    from mlflow import MlflowClient

DEFAULT_EXPERIMENT = "nbrepro"
HEALTH_TIMEOUT_S = 3.0
# How long a capture may wait for the store in all, before spooling (configurable).
DEFAULT_STORE_TIMEOUT_S = 10.0
STORE_TIMEOUT_ENV = "NBREPRO_STORE_TIMEOUT"

T = TypeVar("T")


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


def store_timeout(configured: float | None = None) -> float:
    """Seconds a capture may wait for its store: ``configured``, else
    ``NBREPRO_STORE_TIMEOUT``, else 10."""
    if configured is not None and configured > 0:
        return float(configured)
    raw = os.environ.get(STORE_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_STORE_TIMEOUT_S
    except ValueError:
        value = DEFAULT_STORE_TIMEOUT_S
    return value if value > 0 else DEFAULT_STORE_TIMEOUT_S


def quiet_run_urls() -> contextlib.AbstractContextManager[None]:
    """Keep MLflow from printing "View run ... at: URL" when a run ends: the URL
    carries the tracking URI's credentials, and nbrepro shows its own link."""
    return paths.environ({"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"})


def terminate(client: Any, run_id: str, status: str) -> None:
    """``client.set_terminated(run_id, status)`` without MLflow printing the run's URL.

    MLflow 3 writes "View run ... at: URL" to stdout when it ends a run on a tracking
    server: the URL carries the tracking URI's credentials, and from the thread that
    stores a capture after its cell it would land in whichever cell runs then. These are
    set_terminated's own steps less that print; with other MLflow internals,
    set_terminated with the print turned off for the call.
    """
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if not (hasattr(store, "update_run_info") and hasattr(store, "shut_down_async_logging")):
        with quiet_run_urls():
            client.set_terminated(run_id, status=status)
        return
    from mlflow.entities import RunStatus
    from mlflow.utils.time import get_current_time_millis

    assert store is not None
    # Sends what MLflow's async logging queue holds for the run first, as MLflow does.
    store.shut_down_async_logging()
    store.update_run_info(
        run_id,
        run_status=RunStatus.from_string(status),
        end_time=get_current_time_millis(),
        run_name=None,
    )


class StoreDeadline:
    """One time budget for all of a capture's calls to its store.

    MLflow's HTTP client retries 7 times with exponential backoff and waits 120 s
    per request: a dead or hanging server would hold the user's cell for minutes.
    Within :meth:`limits` MLflow does not retry and waits at most what is left of
    the budget; :meth:`run` also bounds calls that are not MLflow's HTTP (an S3
    artifact upload through boto3) by running them in a thread.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def spent(self) -> bool:
        return self.remaining() <= 0.0

    def unavailable(self, uri: str) -> TrackingUnavailable:
        return TrackingUnavailable(display_uri(uri), f"no answer within {self.seconds:g} s")

    @contextlib.contextmanager
    def limits(self, uri: str, floor: float = 0.0) -> Iterator[None]:
        """MLflow's HTTP calls made inside: no retries, a timeout of what is left.

        Also keeps MLflow from printing the run's URL (with the URI's credentials) to
        the cell's output. ``floor`` grants a last short call when the budget is spent.

        Those settings are the whole process's (environment variables, warning filters):
        only the main thread, where the user's cell runs, sets them. In another thread
        (a capture stored after its cell returned) they would be the user's next cell's
        too, and put back over whatever it set meanwhile; there MLflow keeps its own
        retries and timeouts, and only :meth:`run`'s deadline bounds the wait.

        Raises:
            TrackingUnavailable: the budget is spent (and no ``floor``).
        """
        left = max(self.remaining(), floor)
        if left <= 0:
            raise self.unavailable(uri)
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        with (
            paths.environ(
                {
                    # Read by mlflow.utils.rest_utils for every HTTP request.
                    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                    "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(left))),
                }
            ),
            quiet_run_urls(),
            warnings.catch_warnings(),
        ):
            # MLflow imports pyspark when it is installed, to look for a Databricks
            # session; pyspark-client then warns about pandas in the user's cell.
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark\.")
            yield

    def run(self, uri: str, call: Callable[[threading.Event], T]) -> T:
        """``call(cancelled)`` within the budget, in a thread the caller does not wait
        for past the deadline; ``cancelled`` is set then, so that it stops between steps.

        Raises:
            TrackingUnavailable: the deadline passed first.
        """
        cancelled = threading.Event()
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = call(cancelled)
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc

        with self.limits(uri):
            worker = threading.Thread(target=target, name="nbrepro-store", daemon=True)
            worker.start()
            worker.join(self.remaining())
        if worker.is_alive():
            cancelled.set()
            raise self.unavailable(uri)
        if "error" in box:
            raise box["error"]
        return box["value"]


def is_local_store(uri: str) -> bool:
    """A store on this machine's disk (SQLite, a folder): it does not hang like a
    server, and creating it may take seconds that must not count as a timeout."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    return scheme in ("", "file") or scheme.startswith("sqlite")


def end_active_run(run_id: str, status: str, uri: str, deadline: StoreDeadline | None) -> None:
    """End the active (fluent) run ``run_id``, waiting for the store at most ``deadline``.

    The run leaves MLflow's active-run stack at once, in this thread (the stack is
    per thread). Terminating it on the store may wait on MLflow's async logging queue,
    which sends what it holds first, one request after another: that happens in a
    thread not waited for past the deadline (sync terminates the run later).

    Raises:
        TrackingUnavailable: the deadline passed first.
    """
    import mlflow

    run = mlflow.active_run()
    if run is None or run.info.run_id != run_id:
        return
    if deadline is None or is_local_store(uri) or not _pop_active_run(run_id):
        # No deadline (a local store), or an MLflow whose internals differ.
        with deadline.limits(uri, floor=1.0) if deadline else contextlib.nullcontext():
            mlflow.end_run(status=status)
        return
    client = client_for(uri)
    deadline.run(uri, lambda _cancelled: terminate(client, run_id, status))


def _pop_active_run(run_id: str) -> bool:
    """What ``mlflow.end_run`` does before it calls the store; False if MLflow's
    internals are not those of MLflow 3 (the caller then calls ``end_run``)."""
    try:
        from mlflow.environment_variables import MLFLOW_RUN_ID
        from mlflow.tracking import fluent

        stack = fluent._active_run_stack.get()
        last = fluent._last_active_run_id
        monitors = fluent.run_id_to_system_metrics_monitor
    except (ImportError, AttributeError):
        return False
    if not stack or stack[-1].info.run_id != run_id:
        return False
    MLFLOW_RUN_ID.unset()
    stack.pop()
    last.set(run_id)
    monitor = monitors.pop(run_id, None)
    if monitor is not None:
        with contextlib.suppress(Exception):
            monitor.finish()
    return True


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

    # The registry is named, not looked up: without one, MLflow asks pyspark for an active
    # Spark session (a round trip to the user's Spark server), and in a process whose
    # __main__ has no __file__ pyspark-client takes itself for a doctest run and exits.
    registry = os.environ.get("MLFLOW_REGISTRY_URI") or uri
    db = paths.sqlite_path(uri)
    if db is None:
        return MlflowClient(tracking_uri=uri, registry_uri=registry)
    with _store_guard(db), _quiet_schema_setup():
        client = MlflowClient(tracking_uri=uri, registry_uri=registry)
        # The first search builds the model registry's store too.
        client.search_experiments(max_results=1)
    return client


@contextlib.contextmanager
def _quiet_schema_setup() -> Iterator[None]:
    """Keep MLflow's and alembic's INFO lines about creating a new SQLite store (the
    spool's, the default one) out of the user's cell and nbrepro's output."""
    import logging

    loggers = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


# How long opening a SQLite store waits for another process to finish making it.
SCHEMA_WAIT_S = 10.0


def sqlite_store_complete(db: Path) -> bool:
    """Whether MLflow has made every table of its models in this SQLite store.

    Opening a store whose tables are not all there makes MLflow create and migrate its
    schema; if another process is doing that at the same moment, one of the two fails
    ("Online migration expected to match one row"). Read with sqlite3, without
    opening the store.
    """
    return _has_every_table(_sqlite_tables(db))


def _has_every_table(tables: set[str] | None) -> bool:
    from mlflow.store.db import utils as db_utils

    return tables is not None and set(db_utils.Base.metadata.tables) <= tables


def _sqlite_tables(db: Path) -> set[str] | None:
    import sqlite3

    try:
        with contextlib.closing(
            sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        ) as con:
            return {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error:
        return None


def _wait_while_made_elsewhere(db: Path) -> None:
    """Wait (at most :data:`SCHEMA_WAIT_S`) while another process makes the store's
    schema: until it is complete, or its tables stop changing for a second (a store of
    an older MLflow, which opening it migrates)."""
    end = time.monotonic() + SCHEMA_WAIT_S
    seen, since = _sqlite_tables(db), time.monotonic()
    # One read of the store's tables per round: whether it is complete, and whether it
    # changed since the last round.
    while not _has_every_table(seen) and time.monotonic() < end:
        time.sleep(0.1)
        now = _sqlite_tables(db)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            return


def _store_guard(db: Path) -> contextlib.AbstractContextManager[Any]:
    """A lock beside a SQLite store, so that processes open it one at a time.

    MLflow creates and migrates the schema when a process first opens a store. On a
    new store, two processes doing it at once (on first use, a kernel's capture and
    the Jupyter server's runs list) make one of them fail ("duplicate column name",
    "Online migration expected to match one row"), and that capture would be spooled
    for nothing.
    """
    lock = db.with_name(db.name + ".lock")
    if not lock.exists() and db.is_file() and db.stat().st_size > 0:
        # A store made elsewhere (perhaps one a request named): no lock file is left
        # beside it. A store nbrepro is making has its lock from the start. One another
        # process (the user's own MLflow) is making right now is left to finish first.
        _wait_while_made_elsewhere(db)
        return contextlib.nullcontext()
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
    # The source is written here, not by DeltaDatasetSource.to_dict: that drops version 0
    # (a falsy version) and the table id of tables outside Unity Catalog. The keys are
    # DeltaDatasetSource's, so MLflow reads the source back (from_dict ignores the rest;
    # it takes a path or a delta_table_name, never both, so a catalog name has its own key).
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = []
    for read in reads:
        source = {"path": read["uri"], "delta_table_version": read["version"]}
        if read.get("table_id"):
            source["delta_table_id"] = read["table_id"]
        if read.get("table_name"):
            source["catalog_table_name"] = read["table_name"]
        if read.get("via"):
            source["read_via"] = read["via"]
        name = f"{Path(str(read['uri']).rstrip('/')).name or read['uri']}@v{read['version']}"
        # The digest carries table id and version: MLflow de-duplicates datasets per
        # experiment by name+digest, and a later version must not reuse an old source.
        digest_src = f"{read.get('table_id')}:{read['version']}:{read.get('file_fingerprint')}"
        digest = hashlib.sha256(digest_src.encode()).hexdigest()[:16]
        dataset = Dataset(
            name=name,
            digest=digest,
            source_type="delta_table",
            source=json.dumps(source, sort_keys=True),
        )
        inputs.append(
            DatasetInput(
                dataset=dataset,
                tags=[InputTag(key=MLFLOW_DATASET_CONTEXT_TAG, value="delta-read")],
            )
        )
    return inputs


def log_bundle(
    client: MlflowClient,
    run_id: str,
    bundle: LogBundle,
    cancelled: threading.Event | None = None,
    *,
    artifact_uri: str | None = None,
    files_dir: Path | None = None,
) -> None:
    """Log nbrepro's part of a run with a constant number of calls.

    When ``cancelled`` is set (the capture gave up waiting and spooled), the
    remaining calls are not made. ``artifact_uri``: the run's, as the store gave it
    when the run was created (the files then go to it without asking the store where
    it is); ``files_dir``: a folder holding ``bundle.files`` already (the capture's
    spooled copy), logged as it is rather than written again.
    """
    from mlflow.entities import Param, RunTag

    def check() -> None:
        if cancelled is not None and cancelled.is_set():
            raise TrackingUnavailable(display_uri(str(client.tracking_uri)), "gave up waiting")

    params = [Param(k, v) for k, v in bundle.params.items()]
    tags = [RunTag(k, v) for k, v in bundle.tags.items()]
    if params or tags:
        client.log_batch(run_id, params=params, tags=tags)
    if bundle.datasets:
        check()
        client.log_inputs(run_id, datasets=_dataset_inputs(bundle.datasets))
    check()
    if not bundle.files:
        return
    repo = artifact_repository(str(client.tracking_uri), artifact_uri)
    if files_dir is not None:
        _log_folder(client, run_id, repo, files_dir)
        return
    with tempfile.TemporaryDirectory(prefix="nbrepro-artifacts-") as tmp:
        write_files(Path(tmp), bundle.files)
        _log_folder(client, run_id, repo, Path(tmp))


def artifact_repository(uri: str, artifact_uri: str | None) -> Any:
    """The artifact repository at a run's ``artifact_uri`` (None when there is none, or
    when only the store can resolve it: Databricks' ``dbfs:`` locations)."""
    if not artifact_uri or artifact_uri.startswith("dbfs:"):
        return None
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri, tracking_uri=uri)


def _log_folder(client: MlflowClient, run_id: str, repo: Any, folder: Path) -> None:
    if repo is not None:
        repo.log_artifacts(str(folder))
    else:
        client.log_artifacts(run_id, str(folder))


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``root``."""
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_uploads: list[Future[Any]] = []
_uploads_lock = threading.Lock()


# A background upload may take longer than a capture may block a cell.
BACKGROUND_UPLOAD_TIMEOUT_S = 60.0


def produce_and_log(
    uri: str,
    run_id: str,
    rel_path: str,
    produce: Callable[[], bytes],
    on_logged: Callable[[], None] | None = None,
    artifact_uri: str | None = None,
) -> None:
    """Make one artifact, log it to ``run_id`` and then call ``on_logged``.

    With the run's ``artifact_uri`` (as the store gave it when the run was created),
    the file goes straight to the run's artifact repository: the worker neither opens
    the tracking store nor asks it where the run's artifacts are (what
    ``MlflowClient.log_artifact`` does first, in a store the capture's own thread is
    writing at that moment).
    """
    data = produce()
    with tempfile.TemporaryDirectory(prefix="nbrepro-upload-") as tmp:
        target = Path(tmp) / Path(rel_path).name
        target.write_bytes(data)
        deadline = StoreDeadline(max(BACKGROUND_UPLOAD_TIMEOUT_S, store_timeout()))
        folder = str(Path(rel_path).parent)
        repo = artifact_repository(uri, artifact_uri)
        if repo is not None:
            deadline.run(uri, lambda _cancelled: repo.log_artifact(str(target), folder))
        else:
            client = client_for(uri)
            deadline.run(uri, lambda _cancelled: client.log_artifact(run_id, str(target), folder))
    if on_logged is not None:
        on_logged()


def upload_later(
    uri: str,
    run_id: str,
    rel_path: str,
    produce: Callable[[], bytes],
    on_error: Callable[[str], None],
    on_logged: Callable[[], None] | None = None,
    artifact_uri: str | None = None,
) -> Future[None]:
    """Produce and log one artifact in nbrepro's worker process.

    For artifacts that are costly to make and not needed by the cell (the HTML
    rendering): the cell returns first. ``produce`` and ``on_logged`` must be
    picklable; ``on_logged`` runs in the worker once the artifact is in the store
    (it removes the spooled copy that covers the worker dying or the upload failing).
    """
    future = WORKER.submit(produce_and_log, uri, run_id, rel_path, produce, on_logged, artifact_uri)

    def done(f: Future[None]) -> None:
        exc = f.exception()
        if exc is not None:
            on_error(
                safe_message(
                    f"{rel_path} for run {run_id} was not logged: {type(exc).__name__}: {exc}"
                )
            )

    future.add_done_callback(done)
    # Finished uploads are dropped there: a long kernel session makes many captures.
    track(future)
    return future


def prerender_html(notebook: str) -> Future[Any] | None:
    """Have nbrepro's worker render a saved notebook, as a capture of it will be
    rendered, while the capture's cell runs (:func:`~nbrepro.capture.htmlpage.prerender_file`).
    Nothing is logged; a failure only leaves the capture's render with more to do."""
    from nbrepro.capture.htmlpage import prerender_file

    try:
        # Absolute: the worker's working directory is the kernel's when it started.
        return WORKER.submit(prerender_file, os.path.abspath(notebook), secret_values(os.environ))
    except Exception:
        return None


class SavedNotebookRenders:
    """Renders the kernel's notebook in nbrepro's worker each time it is saved anew.

    A capture logs an HTML page of the notebook as saved; the worker keeps each cell's
    HTML (:class:`~nbrepro.capture.htmlpage.HtmlRenderer`), so a notebook saved
    (JupyterLab autosaves every two minutes) and rendered between cells leaves the next
    capture only the cells saved since. :meth:`check` runs after every cell: one
    ``stat`` of the file, and a render handed to the (niced) worker when the file
    changed and no render of it is pending. Armed by the first capture that renders
    HTML: a kernel that never captures never starts the worker.
    """

    def __init__(self) -> None:
        self.path: str | None = None
        self._seen: tuple[int, int] | None = None
        self._pending: Future[Any] | None = None

    def arm(self, path: str) -> None:
        """Watch ``path`` from now on (the notebook a capture just rendered)."""
        path = os.path.abspath(path)
        if path != self.path:
            self.path, self._seen = path, None

    def check(self, queue: bool = False) -> bool:
        """Render the notebook when it changed since the last render: True when a
        render was handed to the worker. Between cells, not while a render is pending;
        with ``queue`` (a capture starting), after it."""
        if self.path is None:
            return False
        if not queue and self._pending is not None and not self._pending.done():
            return False
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._seen:
            return False
        self._seen = stamp
        self._pending = prerender_html(self.path)
        return self._pending is not None


def warm_worker() -> None:
    """Start nbrepro's worker process now: it is ready when a capture hands it work."""
    WORKER.start()


def track(future: Future[Any]) -> None:
    """Count ``future`` among the background work :func:`wait_for_uploads` waits for."""
    with _uploads_lock:
        _uploads[:] = [f for f in _uploads if not f.done()]
        _uploads.append(future)


def wait_for_uploads(timeout: float | None = None) -> bool:
    """Wait for background stores and uploads (and those they start meanwhile); True
    when none is left running."""
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        with _uploads_lock:
            _uploads[:] = pending = [f for f in _uploads if not f.done()]
        if not pending:
            return True
        left = None if end is None else end - time.monotonic()
        if left is not None and left <= 0:
            return False
        wait(pending, timeout=left)
