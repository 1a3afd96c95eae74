"""nbrepro: reproducible Jupyter notebook runs, captured to MLflow.

Loading the IPython extension (``%load_ext nbrepro``) registers the ``%%repro``
cell magic and ``%repro`` line magic. It deliberately imports neither mlflow nor
papermill: they cost seconds and load on first use.
"""

from __future__ import annotations

from typing import Any

from nbrepro._version import __version__

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register nbrepro's magics and start watching Delta reads in this kernel."""
    from nbrepro.kernel.magics import load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "nbrepro"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbrepro"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register nbrepro's REST API (``/nbrepro/...``) on a Jupyter server."""
    from nbrepro.server.extension import load

    load(serverapp)


def unload_ipython_extension(ipython: Any) -> None:
    """Stop watching Delta reads and forget the magics' state."""
    from nbrepro.kernel.magics import unload

    unload(ipython)
