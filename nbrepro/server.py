"""Jupyter server extension: nbrepro's REST API under ``/nbrepro/`` (thin glue).

Every handler is authenticated; errors map to status codes in one place
(:meth:`BaseHandler.write_error` via :func:`_status_for`): 400 bad input, 404
unknown run, 503 tracking store unreachable, 500 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from traitlets import Unicode
from traitlets.config import Configurable

from nbrepro._version import __version__
from nbrepro.errors import NbreproError, TrackingUnavailable
from nbrepro.runs import RUN_ID_RE, RunNotUsable

MAX_PAGE = 500


class NbreproServer(Configurable):
    """Settings of the server extension (``c.NbreproServer.tracking_uri = ...``)."""

    tracking_uri = Unicode(
        "", help="Tracking URI override (default: MLFLOW_TRACKING_URI, else nbrepro's store)."
    ).tag(config=True)


class BadRequest(NbreproError):
    """A request the client must fix (400)."""


def _status_for(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, tornado.web.HTTPError):
        return exc.status_code, exc.log_message or exc.reason or ""
    if isinstance(exc, BadRequest):
        return 400, str(exc)
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

    def tracking_uri(self) -> str:
        from nbrepro.tracking import resolve_tracking_uri

        return resolve_tracking_uri(self.settings_obj.tracking_uri or None)

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

    def notebook_arg(self) -> str | None:
        """A notebook path, confined to the server's root folder."""
        value = self.get_argument("notebook", None)
        if not value:
            return None
        root = Path(self.settings.get("server_root_dir", os.getcwd())).resolve()
        path = (root / value).resolve()
        if root != path and root not in path.parents:
            raise BadRequest(f"notebook path {value!r} is outside the server's root")
        return str(path)

    def checked_tracking(self) -> str:
        from nbrepro.tracking import check_reachable

        uri = self.tracking_uri()
        check_reachable(uri)
        return uri


class VersionHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish({"version": __version__})


class RunsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        from nbrepro.show import list_rows

        try:
            size = int(self.get_argument("max_results", "50"))
        except ValueError:
            raise BadRequest("max_results must be a whole number") from None
        if not 1 <= size <= MAX_PAGE:
            raise BadRequest(f"max_results must be between 1 and {MAX_PAGE}")
        uri = self.checked_tracking()
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
        from nbrepro.drift import table_drift
        from nbrepro.runs import load_run

        captured = await asyncio.to_thread(
            load_run, self.run_id_arg(run_id), self.checked_tracking()
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
        from nbrepro.rerun import diff

        a = self.run_id_arg(self.get_argument("a", ""))
        b = self.run_id_arg(self.get_argument("b", ""))
        report = await asyncio.to_thread(diff, a, b, self.checked_tracking())
        self.finish(json.dumps(report, default=str))


def load(serverapp: Any) -> None:
    """Register the handlers on a running Jupyter server."""
    web_app = serverapp.web_app
    web_app.settings["nbrepro"] = NbreproServer(parent=serverapp)
    base = url_path_join(web_app.settings["base_url"], "nbrepro")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "version"), VersionHandler),
            (url_path_join(base, "runs"), RunsHandler),
            (url_path_join(base, "runs", r"([^/]+)"), RunHandler),
            (url_path_join(base, "compare"), CompareHandler),
        ],
    )
