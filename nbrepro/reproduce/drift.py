"""Environment drift: how a live Python (a kernel's or the server's) differs from the
environment a run recorded. Data drift is :mod:`nbrepro.capture.delta.drift`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbrepro.record.summary import python_label


def environment_drift(
    recorded: Mapping[str, Any], now: Mapping[str, Any], *, against: str, kernel: str | None
) -> dict[str, Any]:
    """A run's recorded environment against a live one (``EnvironmentDrift`` of the API).

    Args:
        recorded: the record's ``environment`` section.
        now: a :func:`nbrepro.capture.environment.capture_environment` result.
        against: ``"kernel"`` or ``"server"``, whose environment ``now`` is.
        kernel: the kernel's name when ``against`` is ``"kernel"``.
    """
    from nbrepro.reproduce.compare.report import compare_environment

    compared = compare_environment({"environment": recorded}, {"environment": now})
    packages = compared["packages"]

    return {
        "against": against,
        "kernel": kernel,
        "same": compared["same"],
        "python": [python_label(recorded), python_label(now)],
        "packages": {key: packages[key] for key in ("added", "removed", "changed", "same")},
        "system": compared["system"],
    }
