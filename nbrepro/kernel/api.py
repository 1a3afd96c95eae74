"""What JupyterLab's sidebar asks a notebook's kernel, through the server
(:mod:`nbrepro.server.kernelexec` calls these by module and function name)."""

from __future__ import annotations

from typing import Any

from nbrepro.kernel.magics import get_state, load

_NOT_LOADED = (
    "nbrepro was not loaded in this kernel before: the outcome of earlier cells and the "
    "Delta tables they read are not recorded (add %load_ext nbrepro at the top of the "
    "notebook)"
)


def capture_for_sidebar(
    experiment: str | None = None,
    name: str | None = None,
    notebook: str | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """Capture this kernel's session as a run, as ``%repro`` does, for JupyterLab's sidebar.

    Called by the server in a silent execution (see :mod:`nbrepro.server.kernelexec`), so
    nothing is shown in the notebook: warnings come back in the result instead.
    Loads nbrepro in the kernel first if needed.

    Returns:
        The API's ``CaptureResult``: ``run_id``, ``run_name``, ``experiment_id``,
        ``experiment_name``, ``status``, ``cells``, ``hidden_state``, ``tables``
        (``[{"uri", "version"}]``) and ``warning`` (None when all went well).

    Raises:
        NbreproError: the capture could not be made (the message says why).
    """
    import argparse
    import contextlib
    import io

    from IPython import get_ipython

    from nbrepro.errors import NbreproError
    from nbrepro.kernel.capture import run_captured

    shell = get_ipython()
    if shell is None:
        raise NbreproError("capture_for_sidebar runs in an IPython kernel only")
    warnings: list[str] = []
    if get_state(shell) is None:
        load(shell)
        warnings.append(_NOT_LOADED)
    state = get_state(shell)
    assert state is not None
    magics = state.magics  # type: ignore[attr-defined]
    args = argparse.Namespace(
        experiment=experiment,
        name=name,
        tag=[],
        seed=None,
        notebook=notebook,
        tracking_uri=tracking_uri,
        subcommand=[],
    )
    state.last_record = None  # type: ignore[attr-defined]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        run_captured(magics, args, {}, "", mode="sidebar")
    # nbrepro's own warnings (store unreachable, capture failed) are printed, one each.
    printed = stderr.getvalue().split("nbrepro warning: ")
    warnings.extend(w.strip() for w in printed[1:] if w.strip())
    rec = getattr(state, "last_record", None)
    if rec is None:
        raise NbreproError("the capture failed: " + ("; ".join(warnings) or "no record made"))
    warnings.extend(rec["warnings"])
    tables = []
    for read in rec["data"]["reads"]:
        table = {"uri": read["uri"], "version": read["version"]}
        if table not in tables:
            tables.append(table)
    run = rec["run"]
    return {
        "run_id": run["run_id"],
        "run_name": run.get("run_name"),
        "experiment_id": run["experiment_id"],
        "experiment_name": run.get("experiment_name"),
        "status": run["status"],
        "cells": len(rec["code"]["cells"]),
        "hidden_state": bool(rec["code"]["hidden_state"]["hidden"]),
        "tables": tables,
        "warning": "\n".join(warnings) or None,
    }
