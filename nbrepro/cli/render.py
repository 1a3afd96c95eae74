"""Readable views of captured runs for the CLI (``nbrepro show`` and ``nbrepro list``)."""

from __future__ import annotations

from typing import Any

from nbrepro.record.summary import cells_phrase, how_read, python_label, read_source
from nbrepro.record.tags import (
    verdict_of,
)
from nbrepro.record.vocabulary import LATEST, PINNED
from nbrepro.store.runs import CapturedRun
from nbrepro.store.tracking import display_uri


def render_run(captured: CapturedRun, drift: list[dict[str, Any]] | None = None) -> str:
    """What one run captured, for a terminal; ``drift``: each read's table now
    (:func:`nbrepro.capture.delta.drift.table_drift`)."""
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
        f"  code: {cells_phrase(code)}; notebook "
        f"{doc['path'] or 'unknown'}" + ("" if doc["available"] else f" ({doc['missing_reason']})")
    )
    for note in code["hidden_state"]["explanations"]:
        lines.append(f"    hidden state: {note}")
    reads = rec["data"]["reads"]
    lines.append(f"  data: {len(reads)} Delta read(s)")
    for i, r in enumerate(reads):
        lines.append(
            f"    {r['uri']} @ v{r['version']} ({how_read(r)}; {read_source(r)}; table id {r.get('table_id')})"
        )
        now = drift[i] if drift and i < len(drift) else None
        if now is not None:
            lines.append(
                f"      now: {now['state']}" + (f" ({now['detail']})" if now["detail"] else "")
            )
            pin = now.get("pin") or {}
            if pin.get("readable") is False:
                lines.append(
                    f"      v{r['version']} can no longer be pinned: {pin['detail']} "
                    "(rerun with --data latest)"
                )
    for w in rec["data"]["writes"]:
        lines.append(f"    wrote {w['uri']} -> v{w['version']}")
    hw = env.get("hardware") or {}
    lines.append(
        f"  environment: {env['hash'][:12]}; {python_label(env)}, "
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


def render_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no nbrepro runs yet: capture one with %%repro or `nbrepro run NOTEBOOK`"
    lines = [f"{'started (UTC)':25} {'run id':32} {'status':9} {'verdict':20} name"]
    for r in rows:
        verdict = r["verdict"] or ("-" if r["reproduces"] else "not re-run")
        name = r["run_name"] or ""
        if r["reproduces"]:
            name += f"  (of {r['reproduces'][:8]})"
        outcomes = r.get("outcomes")
        if outcomes:
            # Pinned and latest apart: "differs" on the latest data is not "does not reproduce".
            pinned, latest = outcomes.get(PINNED), outcomes.get(LATEST)
            verdict = f"{pinned['verdict']} (pinned)" if pinned else "not pinned"
            if latest:
                on = f"latest {latest['data']}" if latest.get("data") else "latest data"
                name += f"  [{latest['verdict']} on {on}]"
        lines.append(f"{r['start_time']:25} {r['run_id']:32} {r['status']:9} {verdict:20} {name}")
    return "\n".join(lines)
