"""What nbrepro adds to an MLflow run: tags, artifact files, dataset inputs, params.

Assembled by a capture (:mod:`nbrepro.capture.assemble`) or a rerun, logged by the
store (:func:`nbrepro.store.tracking.log_bundle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LogBundle:
    """Everything nbrepro itself adds to a run (the user's own logs are not in it)."""

    tags: dict[str, str]
    files: dict[str, bytes]
    datasets: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
