"""Registered models: ``models:/NAME/VERSION`` (or ``@ALIAS``, or ``/latest``) resolved to
the run that logged the model version, and a rerun's verdict written on the version.

The registry is the tracking store's (MLflow's default registry URI).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from nbrepro.record.tags import LAST_RERUN_TAG, VERDICT_TAG
from nbrepro.redact import safe_message
from nbrepro.store.runs import RunNotUsable
from nbrepro.store.tracking import client_for

_log = logging.getLogger(__name__)

MODEL_URI_PREFIX = "models:/"
_URI = re.compile(r"^models:/(?P<name>[^@]+?)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))$")


@dataclass(frozen=True)
class ModelVersionRef:
    """One model version, and the run that logged it."""

    name: str
    version: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"{MODEL_URI_PREFIX}{self.name}/{self.version}"


def is_model_uri(text: str) -> bool:
    return text.startswith(MODEL_URI_PREFIX)


def resolve(uri: str, tracking_uri: str) -> ModelVersionRef:
    """The version ``uri`` names and the run it came from.

    Raises:
        RunNotUsable: not a model URI nbrepro reads, no such model, version or alias,
            or a version not logged from a run (nothing to re-execute).
    """
    from mlflow.exceptions import MlflowException

    match = _URI.match(uri.strip())
    if match is None:
        raise RunNotUsable(
            f"{uri!r} is not a model version: use models:/NAME/VERSION, models:/NAME@ALIAS "
            "or models:/NAME/latest"
        )
    name, version, alias = match["name"], match["version"], match["alias"]
    client = client_for(tracking_uri)
    try:
        if alias is not None:
            found: Any = client.get_model_version_by_alias(name, alias)
        elif version == "latest":
            versions = client.search_model_versions(f"name = '{_quoted(name)}'")
            if not versions:
                raise RunNotUsable(f"registered model {name!r} has no versions")
            found = max(versions, key=lambda v: int(v.version))
        elif version.isdigit():
            found = client.get_model_version(name, version)
        else:
            raise RunNotUsable(
                f"{uri!r}: model stages are not read; name a version number, @ALIAS or latest"
            )
    except MlflowException as exc:
        raise RunNotUsable(
            f"{uri}: {safe_message(exc.message)} (in the registry of the tracking store)"
        ) from exc
    if not found.run_id:
        raise RunNotUsable(
            f"{uri} (version {found.version}) was not logged from a run (source "
            f"{found.source}): there is no captured run to re-execute"
        )
    return ModelVersionRef(name, str(found.version), str(found.run_id))


def tag_verdict(ref: ModelVersionRef, verdict: str, rerun_id: str, tracking_uri: str) -> str | None:
    """Write a rerun's verdict on the model version (``nbrepro.verdict``,
    ``nbrepro.last_rerun``); the message when that failed (the rerun stands)."""
    client = client_for(tracking_uri)
    try:
        client.set_model_version_tag(ref.name, ref.version, VERDICT_TAG, verdict)
        client.set_model_version_tag(ref.name, ref.version, LAST_RERUN_TAG, rerun_id)
    except Exception as exc:  # a registry that refuses: said in the report's notes
        _log.debug("tagging %s: %s", ref.uri, exc)
        return safe_message(
            f"the verdict could not be written on {ref.uri}: {type(exc).__name__}: {exc}"
        )
    return None


def registered_from(run_id: str, tracking_uri: str) -> list[dict[str, Any]] | None:
    """The model versions registered from ``run_id`` (oldest first): name, version,
    aliases and the verdict of the last rerun through ``models:/``. None when the
    registry could not be asked (a store without one, an error): nothing to show."""
    client = client_for(tracking_uri)
    try:
        # A search leaves the aliases out; the version itself has them.
        found = [
            client.get_model_version(v.name, v.version)
            for v in client.search_model_versions(f"run_id = '{_quoted(run_id)}'")
        ]
    except Exception as exc:  # the run's details stand without it
        _log.debug("model versions of %s: %s", run_id, exc)
        return None
    rows = [
        {
            "name": v.name,
            "version": str(v.version),
            "aliases": sorted(getattr(v, "aliases", None) or []),
            "verdict": (v.tags or {}).get(VERDICT_TAG),
            "last_rerun": (v.tags or {}).get(LAST_RERUN_TAG),
        }
        for v in found
    ]
    return sorted(
        rows, key=lambda r: (r["name"], int(r["version"]) if r["version"].isdigit() else 0)
    )


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


__all__ = [
    "MODEL_URI_PREFIX",
    "ModelVersionRef",
    "is_model_uri",
    "registered_from",
    "resolve",
    "tag_verdict",
]
