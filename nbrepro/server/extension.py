"""Jupyter server extension: nbrepro's REST API under ``/nbrepro/`` (thin glue).

Every handler is authenticated; errors map to status codes in one place
(:meth:`BaseHandler.write_error` via :func:`_status_for`): 400 bad input, 404
unknown run or job, 409 no running kernel for the notebook, 503 tracking store
unreachable, 500 otherwise. The read side is here; reruns, capture and
environment drift and copies of a run's notebooks to open are in
:mod:`nbrepro.server.actions`.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

from nbrepro._version import __version__
from nbrepro.errors import NbreproError, TrackingUnavailable
from nbrepro.jobs.state import JobNotFound
from nbrepro.server.kernelexec import KernelCallFailed, NoRunningKernel
from nbrepro.server.notebook_copy import FolderOutsideRoot, NotCaptured, copy_folder
from nbrepro.store.runs import RUN_ID_RE, RunNotUsable

MAX_PAGE = 500
TRACKING_URI_HEADER = "X-Nbrepro-Tracking-Uri"


class NbreproServer(Configurable):
    """Settings of the server extension (``c.NbreproServer.tracking_uri = ...``)."""

    tracking_uri = Unicode(
        "", help="Tracking URI override (default: MLFLOW_TRACKING_URI, else nbrepro's store)."
    ).tag(config=True)
    max_concurrent_reruns = Int(
        2, help="Reruns run at once; more wait, queued (each runs a kernel)."
    ).tag(config=True)
    jobs_dir = Unicode(
        "", help="Folder of rerun jobs (default: the jobs folder in nbrepro's home)."
    ).tag(config=True)
    kernel_timeout = Float(
        120.0, help="Seconds to wait for a notebook's kernel to answer a capture or a query."
    ).tag(config=True)
    open_dir = Unicode(
        "nbrepro-runs",
        help="Folder, relative to the server's root (or absolute inside it), where a run's "
        "replay or captured notebook is written to be opened.",
    ).tag(config=True)

    _jobs: Any = None
    _jobs_lock = threading.Lock()

    def job_manager(self) -> Any:
        """The server's :class:`nbrepro.jobs.manager.JobManager` (made on first use)."""
        from nbrepro.jobs.manager import JobManager
        from nbrepro.paths import jobs_dir

        with self._jobs_lock:
            if self._jobs is None:
                folder = Path(self.jobs_dir) if self.jobs_dir else jobs_dir()
                self._jobs = JobManager(folder, max_concurrent=self.max_concurrent_reruns)
            return self._jobs


class BadRequest(NbreproError):
    """A request the client must fix (400)."""


def _status_for(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, tornado.web.HTTPError):
        return exc.status_code, exc.log_message or exc.reason or ""
    if isinstance(exc, BadRequest):
        return 400, str(exc)
    if isinstance(exc, JobNotFound | NotCaptured):
        return 404, str(exc)
    if isinstance(exc, NoRunningKernel):
        return 409, str(exc)
    if isinstance(exc, KernelCallFailed | FolderOutsideRoot):
        return 500, str(exc)
    if isinstance(exc, RunNotUsable):
        return (404 if "no run" in str(exc) else 400), str(exc)
    if isinstance(exc, TrackingUnavailable):
        return 503, str(exc)
    if isinstance(exc, NbreproError):
        return 400, str(exc)
    return 500, f"{type(exc).__name__}: {exc}"


class BaseHandler(APIHandler):
    @property
    def settings_obj(self) -> NbreproServer:
        return self.settings["nbrepro"]

    def tracking_override(self) -> str | None:
        """The store this request names (``tracking_uri``), else the server's setting."""
        # The sidebar sends a header: query strings end up in the server's request log.
        value = (
            self.request.headers.get(TRACKING_URI_HEADER)
            or self.get_argument("tracking_uri", None)
            or self.body_field("tracking_uri", str)
        )
        return value or self.settings_obj.tracking_uri or None

    def tracking_uri(self) -> str:
        from nbrepro.store.tracking import resolve_tracking_uri

        return resolve_tracking_uri(self.tracking_override())

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object body (``{}`` when empty)."""
        if not hasattr(self, "_json_body"):
            raw = self.request.body or b""
            try:
                body = json.loads(raw) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError):
                raise BadRequest("the request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise BadRequest("the request body must be a JSON object")
            self._json_body = body
        return self._json_body

    def body_field(self, key: str, kind: type) -> Any:
        """A field of the JSON body, None when absent; 400 when of another type."""
        value = self.json_body().get(key)
        if value is not None and not isinstance(value, kind):
            raise BadRequest(f"{key} must be a {kind.__name__}")
        return value

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A request the client must fix is not a server failure: one line, no traceback.
        if value is not None and _status_for(value)[0] < 500:
            self.log.info("nbrepro: %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        message = self._reason
        if exc_info is not None:
            status_code, message = _status_for(exc_info[1])
            self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "status": status_code}))

    def run_id_arg(self, value: str) -> str:
        if not RUN_ID_RE.match(value):
            raise BadRequest(f"{value!r} is not an MLflow run id")
        return value

    def server_root(self) -> Path:
        return Path(self.settings.get("server_root_dir", os.getcwd())).resolve()

    def notebook_arg(self, value: str | None = None) -> str | None:
        """A notebook path (``value``, else the ``notebook`` query argument), confined
        to the server's root folder; absolute."""
        value = value or self.get_argument("notebook", None)
        if not value:
            return None
        root = self.server_root()
        path = (root / value).resolve()
        if root != path and root not in path.parents:
            raise BadRequest(f"notebook path {value!r} is outside the server's root")
        return str(path)

    async def checked_tracking(self) -> str:
        """The request's store, checked reachable (503 otherwise)."""
        from nbrepro.store.tracking import check_reachable

        uri = self.tracking_uri()
        # A probe of an HTTP store waits up to seconds: not on the server's event loop.
        await asyncio.to_thread(check_reachable, uri)
        return uri


class VersionHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish({"version": __version__})


class RunsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        from nbrepro.cli.render import list_rows

        try:
            size = int(self.get_argument("max_results", "50"))
        except ValueError:
            raise BadRequest("max_results must be a whole number") from None
        if not 1 <= size <= MAX_PAGE:
            raise BadRequest(f"max_results must be between 1 and {MAX_PAGE}")
        uri = await self.checked_tracking()
        # MLflow calls block: keep them off the server's event loop.
        rows, token = await asyncio.to_thread(
            list_rows,
            uri,
            experiment=self.get_argument("experiment", None),
            notebook=self.notebook_arg(),
            max_results=size,
            page_token=self.get_argument("page_token", None),
            with_token=True,
        )
        self.finish({"runs": rows, "next_page_token": token})


class RunHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        from nbrepro.reproduce.drift import table_drift
        from nbrepro.store.runs import load_run

        captured = await asyncio.to_thread(
            load_run, self.run_id_arg(run_id), await self.checked_tracking()
        )
        rec = captured.record
        drift = await asyncio.to_thread(table_drift, rec["data"]["reads"])
        self.finish(
            {
                "run_id": captured.run_id,
                "status": captured.run.info.status,
                "tags": dict(captured.run.data.tags),
                "params": captured.params,
                "metrics": captured.metrics,
                "record": {
                    key: rec[key]
                    for key in ("run", "code", "data", "warnings", "mode", "created_at")
                },
                "environment": {
                    "hash": rec["environment"]["hash"],
                    "python": rec["environment"]["python"],
                    "packages": len(rec["environment"]["packages"]),
                    "os": rec["environment"].get("os"),
                    "hardware": rec["environment"].get("hardware"),
                    "git": rec["environment"].get("git"),
                },
                "drift": drift,
            }
        )


class CompareHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        from nbrepro.reproduce.rerun import diff

        a = self.run_id_arg(self.get_argument("a", ""))
        b = self.run_id_arg(self.get_argument("b", ""))
        report = await asyncio.to_thread(diff, a, b, await self.checked_tracking())
        self.finish(json.dumps(report, default=str))


def load(serverapp: Any) -> None:
    """Register the handlers on a running Jupyter server."""
    from nbrepro.server.actions import (
        CaptureHandler,
        EnvironmentHandler,
        OpenHandler,
        RerunHandler,
        RerunsHandler,
    )

    web_app = serverapp.web_app
    settings = NbreproServer(parent=serverapp)
    web_app.settings["nbrepro"] = settings
    try:
        copy_folder(Path(serverapp.root_dir), settings.open_dir)
    except FolderOutsideRoot as exc:
        # Said now, not only at the first "Open captured notebook" (which answers 500).
        serverapp.log.warning("nbrepro: %s", exc)
    base = url_path_join(web_app.settings["base_url"], "nbrepro")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "version"), VersionHandler),
            (url_path_join(base, "runs"), RunsHandler),
            (url_path_join(base, "runs", r"([^/]+)"), RunHandler),
            (url_path_join(base, "runs", r"([^/]+)", "environment"), EnvironmentHandler),
            (url_path_join(base, "runs", r"([^/]+)", "open"), OpenHandler),
            (url_path_join(base, "compare"), CompareHandler),
            (url_path_join(base, "reruns"), RerunsHandler),
            (url_path_join(base, "reruns", r"([^/]+)"), RerunHandler),
            (url_path_join(base, "capture"), CaptureHandler),
        ],
    )
