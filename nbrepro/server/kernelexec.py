"""Calling a function in a running Jupyter kernel, leaving no trace in its notebook.

The server asks a notebook's kernel for things only that kernel knows (its
session's history, its packages). The call is an ``execute_request`` with empty
code, ``silent`` and without history, whose one user expression calls the
function: nothing shows in the notebook, the execution count does not move, and
the result (the function's return value, as JSON) comes back in the reply.
"""

from __future__ import annotations

import ast
import inspect
import json
import time
from queue import Empty
from typing import Any

from nbrepro.errors import NbreproError

DEFAULT_TIMEOUT_S = 120.0


class NoRunningKernel(NbreproError):
    """The notebook has no running kernel to ask (HTTP 409)."""


class KernelBusy(NoRunningKernel):
    """The notebook's kernel is running a cell; a call would wait behind it (HTTP 409)."""


class KernelCallFailed(NbreproError):
    """The kernel did not answer in time, or the function raised there (HTTP 500).

    ``ename`` is the kernel's exception name, when the call raised there.
    """

    def __init__(self, message: str, ename: str | None = None) -> None:
        super().__init__(message)
        self.ename = ename


def call_expression(module: str, function: str, kwargs: dict[str, Any]) -> str:
    """The user expression calling ``module.function(**kwargs)``, its result as JSON text.

    ``kwargs`` values are embedded as Python literals (``repr``), so they cannot
    inject code; only ``str``, numbers, booleans and None are accepted.
    """
    if not (module.replace(".", "_").isidentifier() and function.isidentifier()):
        raise ValueError(f"not a module and function name: {module}.{function}")
    for key, value in kwargs.items():
        if not key.isidentifier() or not isinstance(value, str | int | float | bool | None):
            raise ValueError(f"argument {key!r} cannot be passed to a kernel call")
    call = f"__import__({module!r}, fromlist=[{function!r}]).{function}(**{kwargs!r})"
    return f"__import__('json').dumps({call}, default=str)"


async def call_in_kernel(
    kernel_manager: Any,
    module: str,
    function: str,
    kwargs: dict[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Any:
    """Call ``module.function(**kwargs)`` in the kernel; returns its JSON-decoded result.

    Args:
        kernel_manager: the kernel's jupyter_client manager (the server's, for a
            notebook's kernel).
        timeout: seconds to wait for the answer; a kernel busy with a cell answers
            only after it.

    Raises:
        KernelCallFailed: no answer within ``timeout``, or the call raised in the
            kernel (the message carries its error, e.g. nbrepro not installed there).
    """
    expression = call_expression(module, function, kwargs or {})
    client = kernel_manager.client()
    client.start_channels()
    try:
        msg_id = client.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions={"result": expression},
            allow_stdin=False,
        )
        reply = await _reply(client, msg_id, timeout)
    finally:
        client.stop_channels()
    content = reply["content"]
    if content.get("status") != "ok":
        raise KernelCallFailed(
            f"the kernel could not run the call: {content.get('ename')}: {content.get('evalue')}",
            content.get("ename"),
        )
    result = content.get("user_expressions", {}).get("result", {})
    if result.get("status") != "ok":
        raise KernelCallFailed(
            f"{module}.{function} failed in the kernel: {result.get('ename')}: "
            f"{result.get('evalue')}",
            result.get("ename"),
        )
    # The expression's value is a str; the kernel sends its repr as text/plain.
    return json.loads(ast.literal_eval(result["data"]["text/plain"]))


async def _reply(client: Any, msg_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise Empty
            msg = client.get_shell_msg(timeout=remaining)
            if inspect.isawaitable(msg):
                msg = await msg
        except Empty:
            raise KernelCallFailed(
                f"the kernel did not answer within {timeout:g} s; is a cell still running? "
                "Try again once the kernel is idle."
            ) from None
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return dict(msg)
