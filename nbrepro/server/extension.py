"""Jupyter server extension: nbrepro's REST API under ``/nbrepro/`` (thin glue).

Every handler is authenticated. The routes are here; the read side is in
:mod:`nbrepro.server.handlers`, reruns, captures of a running kernel, environment drift
and copies of a run's notebooks in :mod:`nbrepro.server.actions`, and what they share
(settings, errors to HTTP statuses) in :mod:`nbrepro.server.base`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join

from nbrepro.server.actions import (
    CaptureHandler,
    EnvironmentHandler,
    OpenHandler,
    RerunHandler,
    RerunsHandler,
)
from nbrepro.server.base import NbreproServer
from nbrepro.server.handlers import (
    CompareHandler,
    CompareImagesHandler,
    RunHandler,
    RunsHandler,
    VersionHandler,
)
from nbrepro.server.notebook_copy import FolderOutsideRoot, copy_folder


def load(serverapp: Any) -> None:
    """Register the handlers on a running Jupyter server."""
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
            (url_path_join(base, "compare", "images"), CompareImagesHandler),
            (url_path_join(base, "reruns"), RerunsHandler),
            (url_path_join(base, "reruns", r"([^/]+)"), RerunHandler),
            (url_path_join(base, "capture"), CaptureHandler),
        ],
    )
