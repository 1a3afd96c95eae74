"""Secrets kept out of what the user's own code logs to a captured run.

While a ``%%repro`` body runs, its ``mlflow.log_param``/``log_params``/``set_tag``/
``set_tags``/``log_batch`` calls on the captured run go through MLflow's
``TrackingServiceClient`` (the fluent API and ``MlflowClient`` both do). There, for
the captured run only, a value holding a secret of the environment (see
:func:`nbrepro.redact.secret_values`) is replaced by ``[REDACTED]`` before it reaches
the store or the spool; MLflow params cannot be changed once logged, so this cannot
wait until the cell is over. Metrics are numbers; artifacts the user logs are
theirs and are not inspected.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

from nbrepro.redact import redact_text, secret_values


def _clean(value: Any) -> tuple[Any, bool]:
    text = str(value)
    secrets = secret_values(os.environ)
    if not secrets:
        return value, False
    cleaned = redact_text(text, secrets)
    return (cleaned, True) if cleaned != text else (value, False)


@contextlib.contextmanager
def redact_user_logs(run_id: str) -> Iterator[list[str]]:
    """Redact params and tags logged to ``run_id`` inside the block.

    Yields:
        The list, filled as it happens, of what was redacted (``"param 'api_key'"``).
    """
    from mlflow.entities import Param, RunTag
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    redacted: list[str] = []
    originals: dict[str, Callable[..., Any]] = {
        name: TrackingServiceClient.__dict__[name] for name in ("log_param", "set_tag", "log_batch")
    }

    def single(name: str, kind: str) -> Callable[..., Any]:
        original = originals[name]

        @functools.wraps(original)
        def wrapper(self: Any, run: str, key: str, value: Any, *args: Any, **kw: Any) -> Any:
            if run == run_id:
                value, changed = _clean(value)
                if changed:
                    redacted.append(f"{kind} {key!r}")
            return original(self, run, key, value, *args, **kw)

        return wrapper

    @functools.wraps(originals["log_batch"])
    def log_batch(
        self: Any, run: str, metrics: Any = (), params: Any = (), tags: Any = (), *a: Any, **kw: Any
    ) -> Any:
        if run == run_id:
            params = [_entity(Param, p, "param", redacted) for p in params]
            tags = [_entity(RunTag, t, "tag", redacted) for t in tags]
        return originals["log_batch"](self, run, metrics, params, tags, *a, **kw)

    TrackingServiceClient.log_param = single("log_param", "param")  # type: ignore[method-assign]
    TrackingServiceClient.set_tag = single("set_tag", "tag")  # type: ignore[method-assign]
    TrackingServiceClient.log_batch = log_batch  # type: ignore[method-assign,assignment]
    try:
        yield redacted
    finally:
        for name, original in originals.items():
            setattr(TrackingServiceClient, name, original)


def _entity(kind: Any, item: Any, label: str, redacted: list[str]) -> Any:
    value, changed = _clean(item.value)
    if not changed:
        return item
    redacted.append(f"{label} {item.key!r}")
    return kind(item.key, value)


def redaction_note(redacted: list[str]) -> str | None:
    """The record's note on what the user's code logged with a secret in it."""
    if not redacted:
        return None
    names = ", ".join(dict.fromkeys(redacted))
    return (
        f"{names} held a secret value from the environment and was logged as [REDACTED]; "
        "log a secret's name or digest instead of its value"
    )
