"""Server handlers that act: rerun jobs, capture of a running kernel, environment drift,
copies of a run's notebooks to open.

Thin glue: :mod:`nbrepro.jobs.manager` runs reruns, :mod:`nbrepro.server.kernelexec` talks to
a notebook's kernel, :mod:`nbrepro.reproduce.drift` computes drift, :mod:`nbrepro.server.notebook_copy`
writes the copies. Errors map to status codes in :func:`nbrepro.server.base.error_response`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import tornado

from nbrepro._version import __version__
from nbrepro.errors import clipped_repr
from nbrepro.server.base import BadRequest, BaseHandler
from nbrepro.server.kernelexec import KernelBusy, KernelCallFailed, NoRunningKernel, call_in_kernel


class RerunsHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        """Start a rerun job (202, ``Job``); 404 when the run is unknown."""
        from nbrepro.jobs.manager import RerunRequest
        from nbrepro.store.runs import load_run

        run_id = self.body_field("run_id", str)
        if run_id is not None:
            self.run_id_arg(run_id)  # refused here, the value quoted short
        uri = await self.checked_tracking()
        request = RerunRequest.from_json({**self.json_body(), "tracking_uri": uri})
        # Refuse now what the rerun would refuse after seconds of start-up.
        await asyncio.to_thread(load_run, request.run_id, uri)
        manager = self.settings_obj.job_manager()
        job = await asyncio.to_thread(manager.submit, request)
        self.set_status(202)
        self.finish(job.to_json())

    @tornado.web.authenticated
    async def get(self) -> None:
        """``{"jobs": [Job]}``, newest first (of one run with ``run_id``)."""
        run_id = self.argument("run_id")
        if run_id is not None:
            self.run_id_arg(run_id)
        manager = self.settings_obj.job_manager()

        def listed() -> list[dict[str, Any]]:
            return [job.to_json() for job in manager.list(run_id)]

        self.finish({"jobs": await asyncio.to_thread(listed)})


class RerunHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        """One ``Job``, with progress and log tail."""
        manager = self.settings_obj.job_manager()
        self.finish(await asyncio.to_thread(lambda: manager.get(job_id).to_json()))

    @tornado.web.authenticated
    async def delete(self, job_id: str) -> None:
        """Cancel a job; returns it (a finished job unchanged)."""
        manager = self.settings_obj.job_manager()
        self.finish(await asyncio.to_thread(lambda: manager.cancel(job_id).to_json()))


# What the server calls in a notebook's kernel, by name: where this nbrepro has each
# function, then where older ones had it (a kernel may run another nbrepro than the
# server: an upgrade while JupyterLab runs, or kernels in their own environments).
KERNEL_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "capture_for_sidebar": ("nbrepro.kernel.api", "nbrepro.ipython_ext"),
    "capture_environment": ("nbrepro.capture.environment", "nbrepro.environment"),
}


class KernelHandler(BaseHandler):
    """A handler that may talk to a notebook's running kernel."""

    async def kernel_for(self, notebook: str) -> tuple[str, Any] | None:
        """``(kernel name, kernel manager)`` of the notebook's running kernel, or None."""
        api_path = Path(os.path.relpath(notebook, self.server_root())).as_posix()
        for session in await self.session_manager.list_sessions():
            kernel = session.get("kernel") or {}
            if session.get("path") == api_path and kernel.get("id"):
                try:
                    manager = self.kernel_manager.get_kernel(kernel["id"])
                except KeyError:
                    continue  # shut down between the two calls
                return str(kernel.get("name") or ""), manager
        return None

    async def call(self, manager: Any, function: str, **kwargs: Any) -> Any:
        """Call one of :data:`KERNEL_FUNCTIONS` in the kernel, by its current module, else
        by the module an older nbrepro in the kernel has it in."""
        modules = KERNEL_FUNCTIONS[function]
        for i, module in enumerate(modules):
            try:
                return await call_in_kernel(
                    manager, module, function, kwargs, timeout=self.settings_obj.kernel_timeout
                )
            except KernelCallFailed as exc:
                if exc.ename != "ModuleNotFoundError":
                    raise
                if i == len(modules) - 1:
                    raise KernelCallFailed(
                        f"{exc} (install nbrepro {__version__}, the Jupyter server's version, "
                        "in the Python environment of the notebook's kernel, then restart "
                        "the kernel)",
                        exc.ename,
                    ) from None
        raise AssertionError("unreachable")


class CaptureHandler(KernelHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        """Capture the notebook's running kernel session as a run (``CaptureResult``)."""
        value = self.body_field("notebook", str)
        if not value:
            raise BadRequest("notebook is required: the notebook's path, relative to the root")
        notebook = self.notebook_arg(value)
        assert notebook is not None
        arguments = {
            "experiment": self.body_field("experiment", str) or None,
            "name": self.body_field("name", str) or None,
            "notebook": notebook,
            # Only a store named by the request or the server's setting: otherwise the
            # kernel resolves it as %repro does (mlflow.set_tracking_uri included).
            "tracking_uri": self.tracking_override(),
        }
        self.unknown_fields({*arguments, "notebook"}, "capture")
        found = await self.kernel_for(notebook)
        if found is None:
            raise NoRunningKernel(
                f"{clipped_repr(value)} has no running kernel: nothing ran in it to capture"
            )
        _, manager = found
        if getattr(manager, "execution_state", None) == "busy":
            # Queued behind a running cell, the capture would run after the request timed
            # out, and a second click would capture twice.
            raise KernelBusy(
                f"the kernel of {clipped_repr(value)} is busy running a cell: capture once it is idle"
            )
        result = await self.call(manager, "capture_for_sidebar", **arguments)
        self.finish(result)


class EnvironmentHandler(KernelHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        """The run's environment against the notebook's kernel, else this server's Python."""
        from nbrepro.capture.environment import capture_environment
        from nbrepro.reproduce.drift import environment_drift
        from nbrepro.store.runs import load_run

        captured = await asyncio.to_thread(
            load_run, self.run_id_arg(run_id), await self.checked_tracking()
        )
        notebook = self.notebook_arg()
        found = await self.kernel_for(notebook) if notebook else None
        if found is not None:
            name, manager = found
            now = await self.call(manager, "capture_environment")
            drift = environment_drift(
                captured.record["environment"], now, against="kernel", kernel=name
            )
        else:
            now = await asyncio.to_thread(capture_environment)
            drift = environment_drift(
                captured.record["environment"], now, against="server", kernel=None
            )
        self.finish(drift)


class OpenHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        """Write the run's replay or document under the root (``OpenResult``) to open it."""
        from nbrepro.server.notebook_copy import WHICH, write_copy
        from nbrepro.store.runs import load_run

        which = self.body_field("which", str)
        if which is None:
            raise BadRequest(f"which is required: one of {', '.join(WHICH)}")
        if which not in WHICH:
            raise BadRequest(f"which must be one of {', '.join(WHICH)}, not {clipped_repr(which)}")
        self.unknown_fields({"which", "tracking_uri"}, "open")
        captured = await asyncio.to_thread(
            load_run, self.run_id_arg(run_id), await self.checked_tracking()
        )
        result = await asyncio.to_thread(
            write_copy, captured, which, self.server_root(), self.settings_obj.open_dir
        )
        self.finish(result)
