"""What every nbrepro handler shares: the extension's settings, request parsing, and
the one mapping from errors to HTTP statuses and the REST body's ``code``.

400 bad input, 403 a tracking store the server's policy does not let requests name,
404 unknown run or job, 409 no running (or a busy) kernel for the notebook, 503
tracking store unreachable, 500 otherwise.

Every value a request sends is read here: text arguments are refused when they hold
control characters (a NUL would otherwise fail deep in a path or a store), and any
value quoted back in a message or a log line is cut short.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import unicodedata
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler
from traitlets import Float, Int, List, Unicode
from traitlets.config import Configurable

from nbrepro.errors import (
    NbreproError,
    TrackingUnavailable,
    clipped_names,
    clipped_repr,
    clipped_text,
)
from nbrepro.jobs.state import JobNotFound
from nbrepro.server.kernelexec import KernelBusy, KernelCallFailed, NoRunningKernel
from nbrepro.server.notebook_copy import FolderOutsideRoot, NotCaptured
from nbrepro.store.runs import RUN_ID_RE, RunNotFound
from nbrepro.store.uris import ALLOW_ANY, StoreUriNotAllowed, StoreUriRefused

TRACKING_URI_HEADER = "X-Nbrepro-Tracking-Uri"
# No argument of the API is longer (paths, URIs, names, tokens): refused before any use.
MAX_TEXT_CHARS = 8192
# A message longer than this (one from MLflow, quoting a request) is cut, in the
# answer and in the log.
MAX_MESSAGE_CHARS = 2000


class NbreproServer(Configurable):
    """Settings of the server extension (``c.NbreproServer.tracking_uri = ...``)."""

    tracking_uri = Unicode(
        "", help="Tracking URI override (default: MLFLOW_TRACKING_URI, else nbrepro's store)."
    ).tag(config=True)
    allowed_tracking_uris = List(
        Unicode(),
        default_value=[ALLOW_ANY],
        help="The tracking stores a request may name (the sidebar's tracking URI setting), "
        "as shell-style patterns matched against the URI without credentials, a local "
        "store's path resolved: e.g. ['https://mlflow.example.com/*', "
        "'sqlite:////srv/stores/*']. '*' (the default) allows any existing store; [] "
        "allows none but the server's own store. A store a request names must exist "
        "whatever this says.",
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


# Each error a handler can raise: its HTTP status and the body's ``code`` (the API's
# ``ErrorCode``). The first matching type wins: subclasses before their bases.
_ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (BadRequest, 400, "bad-request"),
    (StoreUriRefused, 400, "tracking-uri-refused"),
    (StoreUriNotAllowed, 403, "tracking-uri-not-allowed"),
    (RunNotFound, 404, "run-not-found"),
    (JobNotFound, 404, "job-not-found"),
    (NotCaptured, 404, "not-captured"),
    (KernelBusy, 409, "kernel-busy"),
    (NoRunningKernel, 409, "kernel-not-running"),
    (KernelCallFailed, 500, "kernel-call-failed"),
    (FolderOutsideRoot, 500, "outside-root"),
    (TrackingUnavailable, 503, "tracking-unavailable"),
    (NbreproError, 400, "bad-request"),  # RunNotUsable, JobRequestError...: the request names it
)
ERROR_CODES = frozenset({code for _, _, code in _ERRORS} | {"forbidden", "http-error", "internal"})


def error_response(exc: BaseException) -> tuple[int, str, str]:
    """The HTTP status, the message and the ``code`` a handler answers ``exc`` with."""
    if isinstance(exc, tornado.web.HTTPError):
        code = "forbidden" if exc.status_code == 403 else "http-error"
        return exc.status_code, exc.log_message or exc.reason or "", code
    for kind, status, code in _ERRORS:
        if isinstance(exc, kind):
            return status, clipped_text(str(exc), MAX_MESSAGE_CHARS), code
    return 500, clipped_text(f"{type(exc).__name__}: {exc}", MAX_MESSAGE_CHARS), "internal"


def checked_text(name: str, value: str) -> str:
    """``value``, a text argument named ``name``; 400 when too long or holding control
    characters (no path, store, id or name of this API has any)."""
    if len(value) > MAX_TEXT_CHARS:
        raise BadRequest(f"{name} is too long ({len(value)} characters, at most {MAX_TEXT_CHARS})")
    for ch in value:
        # Cc: NUL, newlines, escapes, DEL...; Cs: half of a UTF-16 pair, not a character.
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise BadRequest(
                f"{name} holds a control character ({ch!r}) in {clipped_repr(value)}: remove it"
            )
    return value


class BaseHandler(APIHandler):
    @property
    def settings_obj(self) -> NbreproServer:
        return self.settings["nbrepro"]

    def argument(self, name: str) -> str | None:
        """The query argument ``name`` (the last, if repeated), None when absent.

        Read from the raw query: tornado's ``get_argument`` turns control characters into
        spaces and strips them, so ``notebook=%00`` would silently mean no filter.
        """
        raw = self.request.query_arguments.get(name)
        if not raw:
            return None
        try:
            value = raw[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"{name} is not UTF-8 text") from None
        return checked_text(name, value).strip()

    def tracking_override(self) -> str | None:
        """The store this request names (``tracking_uri``), else the server's setting.

        A store the request names must exist and be allowed by
        ``c.NbreproServer.allowed_tracking_uris`` (400 or 403 otherwise); the server's own
        store is used as configured, created on first use.
        """
        # The sidebar sends a header: query strings end up in the server's request log.
        header = self.request.headers.get(TRACKING_URI_HEADER)
        requested = (
            (checked_text(TRACKING_URI_HEADER, header) if header else None)
            or self.argument("tracking_uri")
            or self.body_field("tracking_uri", str)
        )
        own = self.settings_obj.tracking_uri or None
        if not requested or requested == own:
            return own
        from nbrepro.store.tracking import resolve_tracking_uri
        from nbrepro.store.uris import check_allowed, check_request_store

        if requested == resolve_tracking_uri(own):
            return requested  # the server's own store, named explicitly
        check_request_store(requested)
        check_allowed(requested, self.settings_obj.allowed_tracking_uris)
        return requested

    def tracking_uri(self) -> str:
        from nbrepro.store.tracking import resolve_tracking_uri

        return resolve_tracking_uri(self.tracking_override())

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object body (``{}`` when empty), its text values checked."""
        if not hasattr(self, "_json_body"):
            raw = self.request.body or b""
            try:
                body = json.loads(raw) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise BadRequest("the request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise BadRequest("the request body must be a JSON object")
            for key, value in body.items():
                checked_text("a field name", key)
                if isinstance(value, str):
                    checked_text(key, value)
            self._json_body = body
        return self._json_body

    def body_field(self, key: str, kind: type) -> Any:
        """A field of the JSON body, None when absent; 400 when of another type."""
        value = self.json_body().get(key)
        if value is not None and not isinstance(value, kind):
            raise BadRequest(f"{key} must be a {kind.__name__}")
        return value

    def unknown_fields(self, known: set[str], what: str) -> None:
        """400 when the body has a field not in ``known``, naming (a few of) them."""
        unknown = sorted(set(self.json_body()) - known)
        if unknown:
            raise BadRequest(f"unknown field(s) {clipped_names(unknown)} in the {what} request")

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A request the client must fix is not a server failure: one line, no traceback.
        status, message, _ = error_response(value) if value is not None else (500, "", "")
        if status < 500:
            self.log.info(
                "nbrepro: %s %s: %s",
                self.request.method,
                clipped_text(self.request.path, 200),
                message,
            )
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        message, code = self._reason, "forbidden" if status_code == 403 else "http-error"
        if exc_info is not None:
            status_code, message, code = error_response(exc_info[1])
            self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "status": status_code, "code": code}))

    def run_id_arg(self, value: str) -> str:
        if not RUN_ID_RE.match(value):
            raise BadRequest(f"{clipped_repr(value)} is not an MLflow run id")
        return value

    def server_root(self) -> Path:
        # jupyter_server writes a root under the home folder as "~/..." in this setting.
        root = self.settings.get("server_root_dir", os.getcwd())
        return Path(os.path.expanduser(root)).resolve()

    def notebook_arg(self, value: str | None = None) -> str | None:
        """A notebook path (``value``, else the ``notebook`` query argument), confined
        to the server's root folder; absolute."""
        value = value or self.argument("notebook")
        if not value:
            return None
        root = self.server_root()
        try:
            path = (root / value).resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # too long a name, a symlink loop
            raise BadRequest(f"notebook path {clipped_repr(value)} is unusable: {exc}") from None
        if root != path and root not in path.parents:
            raise BadRequest(f"notebook path {clipped_repr(value)} is outside the server's root")
        return str(path)

    async def checked_tracking(self) -> str:
        """The request's store, checked reachable (503 otherwise)."""
        from nbrepro.store.tracking import check_reachable

        uri = self.tracking_uri()
        # A probe of an HTTP store waits up to seconds: not on the server's event loop.
        await asyncio.to_thread(check_reachable, uri)
        return uri
