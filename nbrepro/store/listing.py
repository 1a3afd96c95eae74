"""The paged list of nbrepro runs in a tracking store (the sidebar's and `nbrepro list`'s)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, NamedTuple

from nbrepro.capture.delta.drift import reads_changed
from nbrepro.errors import NbreproError
from nbrepro.record.tags import (
    CAPTURE_ID_TAG,
    DATA_MODE_TAG,
    DELTA_READS_TAG,
    DELTA_TABLES_TAG,
    HIDDEN_STATE_TAG,
    NOTEBOOK_TAG,
    REPRODUCES_TAG,
    outcome_of,
    verdict_of,
)
from nbrepro.record.vocabulary import LATEST, PINNED
from nbrepro.store.tracking import client_for, display_uri


class RunsPage(NamedTuple):
    """One page of runs, and the token of the next (None on the last page)."""

    rows: list[dict[str, Any]]
    next_page_token: str | None


def list_runs(
    tracking_uri: str,
    *,
    experiment: str | None = None,
    notebook: str | None = None,
    max_results: int = 50,
    page_token: str | None = None,
) -> RunsPage:
    """nbrepro runs, newest first: one search per page, no artifact downloads.

    Each row (the API's ``RunRow``) says whether the data the run read has changed
    since (from the ``nbrepro.delta_reads`` tag; each table is opened once per few
    seconds).
    """
    client = client_for(tracking_uri)
    if experiment:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise NbreproError(f"no experiment {experiment!r} in {display_uri(tracking_uri)}")
        ids = [exp.experiment_id]
    else:
        ids = [e.experiment_id for e in client.search_experiments()]
    if not ids:
        return RunsPage([], None)
    filters = [f"tags.`{CAPTURE_ID_TAG}` LIKE '%'"]
    if notebook:
        path = os.path.abspath(notebook).replace("'", "\\'")
        filters.append(f"tags.`{NOTEBOOK_TAG}` = '{path}'")
    from mlflow.exceptions import MlflowException

    if page_token and not page_token.isascii():
        # Tokens are base64 text; MLflow fails on others before it can say which is wrong.
        raise NbreproError(f"page_token {page_token!r} is not a token this list gave")
    try:
        runs = client.search_runs(
            ids,
            filter_string=" and ".join(filters),
            order_by=["attributes.start_time DESC"],
            max_results=max_results,
            page_token=page_token,
        )
    except MlflowException as exc:
        if page_token and exc.error_code == "INVALID_PARAMETER_VALUE":
            raise NbreproError(
                f"page_token {page_token!r} is not a token this list gave ({exc.message})"
            ) from exc
        raise
    rows = []
    for run in runs:
        tags = run.data.tags
        data = reads_changed(tags.get(DELTA_READS_TAG))
        if data["tables"] is None:  # captured before the tag existed
            data["tables"] = int(tags.get(DELTA_TABLES_TAG) or 0)
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "experiment_id": run.info.experiment_id,
                "status": run.info.status,
                "start_time": dt.datetime.fromtimestamp(
                    run.info.start_time / 1000, dt.timezone.utc
                ).isoformat(timespec="seconds"),
                "notebook": tags.get(NOTEBOOK_TAG),
                "reproduces": tags.get(REPRODUCES_TAG),
                "verdict": verdict_of(tags),
                "data_mode": tags.get(DATA_MODE_TAG) if tags.get(REPRODUCES_TAG) else None,
                "outcomes": _outcomes(tags),
                "hidden_state": tags.get(HIDDEN_STATE_TAG) == "true",
                "metrics": dict(run.data.metrics),
                **data,
            }
        )
    token = runs.token
    # SQL stores hand back the token as bytes; it travels as text.
    return RunsPage(rows, token.decode("ascii") if isinstance(token, bytes) else token)


def _outcomes(tags: dict[str, str]) -> dict[str, Any] | None:
    """An original's latest pinned and latest-data reruns; None for a rerun, or for a
    run whose reruns predate them (its ``verdict`` alone then)."""
    if tags.get(REPRODUCES_TAG):
        return None
    pinned, latest = outcome_of(tags, PINNED), outcome_of(tags, LATEST)
    if pinned is None and latest is None:
        return None
    return {PINNED: pinned, LATEST: latest}
