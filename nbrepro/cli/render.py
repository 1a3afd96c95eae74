"""Readable views of captured runs for the CLI (``nbrepro show`` and ``nbrepro list``)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from nbrepro.errors import NbreproError
from nbrepro.record.tags import (
    CAPTURE_ID_TAG,
    DELTA_READS_TAG,
    DELTA_TABLES_TAG,
    HIDDEN_STATE_TAG,
    NOTEBOOK_TAG,
    REPRODUCES_TAG,
    verdict_of,
)
from nbrepro.reproduce.drift import reads_changed
from nbrepro.store.runs import CapturedRun
from nbrepro.store.tracking import client_for, display_uri


def render_run(captured: CapturedRun) -> str:
    """What one run captured, for a terminal."""
    rec = captured.record
    run, code, env = rec["run"], rec["code"], rec["environment"]
    tags = captured.run.data.tags
    lines = [
        f"run {captured.run_id} ({run.get('run_name') or ''}) {captured.run.info.status}",
        f"  experiment: {run.get('experiment_name')} in {display_uri(captured.tracking_uri)}",
        f"  captured: {rec['created_at']} by nbrepro {rec['nbrepro_version']} ({rec['mode']})",
    ]
    if run.get("reproduces"):
        lines.append(f"  reproduces: {run['reproduces']} (data {run.get('data_mode')})")
    verdict = verdict_of(tags)
    if verdict:
        lines.append(f"  verdict: {verdict}")
    if run.get("error"):
        lines.append(f"  error: {run['error']['ename']}: {run['error']['evalue']}")
    doc = code["document"]
    lines.append(
        f"  code: {len(code['cells'])} executed cell(s); notebook "
        f"{doc['path'] or 'unknown'}" + ("" if doc["available"] else f" ({doc['missing_reason']})")
    )
    for note in code["hidden_state"]["explanations"]:
        lines.append(f"    hidden state: {note}")
    reads = rec["data"]["reads"]
    lines.append(f"  data: {len(reads)} Delta read(s)")
    for r in reads:
        how = "named by the code" if r.get("pinned_by_user") else "latest at read"
        lines.append(f"    {r['uri']} @ v{r['version']} ({how}; table {r.get('table_id')})")
    for w in rec["data"]["writes"]:
        lines.append(f"    wrote {w['uri']} -> v{w['version']}")
    hw = env.get("hardware") or {}
    lines.append(
        f"  environment: {env['hash'][:12]}; Python {env['python']['version']}, "
        f"{len(env['packages'])} packages; {hw.get('cpu_model')} x{hw.get('logical_cores')}"
    )
    git = env.get("git") or {}
    if git:
        lines.append(
            f"  git: {git.get('commit') or 'no commit'} on {git.get('branch') or 'detached'}"
            + (" (dirty)" if git.get("dirty") else "")
        )
    if captured.params:
        lines.append(
            "  params: " + ", ".join(f"{k}={v}" for k, v in sorted(captured.params.items()))
        )
    if captured.metrics:
        lines.append(
            "  metrics: " + ", ".join(f"{k}={v:g}" for k, v in sorted(captured.metrics.items()))
        )
    return "\n".join(lines)


def list_rows(
    tracking_uri: str,
    *,
    experiment: str | None = None,
    notebook: str | None = None,
    max_results: int = 50,
    page_token: str | None = None,
    with_token: bool = False,
) -> Any:
    """nbrepro runs, newest first: one search per page, no artifact downloads.

    Each row says whether the data the run read has changed since (from the
    ``nbrepro.delta_reads`` tag; each table is opened once per few seconds).

    Returns the rows, or ``(rows, next_page_token)`` with ``with_token``.
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
        return ([], None) if with_token else []
    filters = [f"tags.`{CAPTURE_ID_TAG}` LIKE '%'"]
    if notebook:
        path = os.path.abspath(notebook).replace("'", "\\'")
        filters.append(f"tags.`{NOTEBOOK_TAG}` = '{path}'")
    from mlflow.exceptions import MlflowException

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
                "hidden_state": tags.get(HIDDEN_STATE_TAG) == "true",
                "metrics": dict(run.data.metrics),
                **data,
            }
        )
    if with_token:
        token = runs.token
        # SQL stores hand back the token as bytes; it travels as text.
        return rows, token.decode("ascii") if isinstance(token, bytes) else token
    return rows


def render_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no nbrepro runs yet: capture one with %%repro or `nbrepro run NOTEBOOK`"
    lines = [f"{'started (UTC)':25} {'run id':32} {'status':9} {'verdict':11} name"]
    for r in rows:
        verdict = r["verdict"] or ("-" if r["reproduces"] else "not re-run")
        name = r["run_name"] or ""
        if r["reproduces"]:
            name += f"  (rerun of {r['reproduces'][:8]})"
        lines.append(f"{r['start_time']:25} {r['run_id']:32} {r['status']:9} {verdict:11} {name}")
    return "\n".join(lines)
