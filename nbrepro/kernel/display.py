"""The summary shown under a ``%%repro`` cell: HTML for Jupyter, text elsewhere."""

from __future__ import annotations

import html
from typing import Any

from nbrepro.record.summary import cells_phrase, how_read, no_tables_phrase, read_source


def summary_lines(rec: dict[str, Any], store: str, pending: str | None) -> list[str]:
    """Plain-text summary lines of a capture; ``pending`` says it waits in the spool
    (:func:`nbrepro.record.summary.pending_phrase`)."""
    run = rec["run"]
    code = rec["code"]
    if pending and run.get("offline"):
        # The spool's local ids are not the ids the run will have: not shown.
        lines = [
            f"nbrepro: run {run['run_name'] or ''} {run['status']}, waiting in the spool",
            f"  for: {store} (experiment {run['experiment_name']!r})",
        ]
    else:
        lines = [
            f"nbrepro: run {run['run_name'] or ''} ({run['run_id']}) {run['status']}",
            f"  stored in: {store} (experiment {run['experiment_name']!r}, "
            f"id {run['experiment_id']})",
        ]
    lines.append(f"  code: {cells_phrase(code)}; notebook {code['document']['path'] or 'unknown'}")
    if code["hidden_state"]["hidden"]:
        lines.append("  hidden state:")
        lines.extend(f"    - {e}" for e in code["hidden_state"]["explanations"])
    reads = rec["data"]["reads"]
    if reads:
        lines.append(f"  Delta tables read ({len(reads)}):")
        for r in reads:
            lines.append(f"    - {r['uri']} @ v{r['version']} ({how_read(r)}; {read_source(r)})")
    else:
        lines.append(f"  {no_tables_phrase()}")
    for w in rec["data"]["writes"]:
        lines.append(f"  Delta write: {w['uri']} -> v{w['version']}")
    lines.append(f"  environment: {rec['environment']['hash'][:12]}")
    for w in rec["warnings"]:
        lines.append(f"  note: {w}")
    if pending:
        lines.append(f"  pending: {pending}")
    return lines


def summary_bundle(rec: dict[str, Any], store: str, pending: str | None) -> dict[str, str]:
    """The summary as a display bundle: text for terminals and viewers, HTML for Jupyter."""
    return {
        "text/plain": "\n".join(summary_lines(rec, store, pending)),
        "text/html": summary_html(rec, store, pending),
    }


def summary_html(rec: dict[str, Any], store: str, pending: str | None) -> str:
    """The same summary as a small HTML card."""
    esc = html.escape
    run = rec["run"]
    code = rec["code"]
    offline = bool(pending and run.get("offline"))
    ident = "" if offline else f" <code>{esc(run['run_id'])}</code>"
    where = "Waiting in the spool for" if offline else "Stored in"
    rows = [
        ("Run", f"<b>{esc(str(run['run_name'] or ''))}</b>{ident} ({esc(run['status'])})"),
        (where, f"<code>{esc(store)}</code>, experiment {esc(str(run['experiment_name']))}"),
        (
            "Code",
            f"{cells_phrase(code)} from "
            f"<code>{esc(str(code['document']['path'] or 'unknown notebook'))}</code>",
        ),
    ]
    reads = rec["data"]["reads"]
    rows.append(
        (
            "Delta",
            "<br>".join(f"<code>{esc(r['uri'])}</code> @ v{r['version']}" for r in reads)
            or no_tables_phrase(),
        )
    )
    rows.append(("Environment", f"<code>{esc(rec['environment']['hash'][:12])}</code>"))
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{k}</th><td style='text-align:left'>{v}</td></tr>"
        for k, v in rows
    )
    notes = ""
    if code["hidden_state"]["hidden"]:
        notes += "".join(
            f"<div style='color:var(--jp-warn-color0, #e65100)'>&#9888; {esc(e)}</div>"
            for e in code["hidden_state"]["explanations"]
        )
    notes += "".join(
        f"<div style='color:var(--jp-ui-font-color2, #666)'>{esc(w)}</div>" for w in rec["warnings"]
    )
    if pending:
        notes += f"<div style='color:var(--jp-warn-color0, #e65100)'><b>Pending:</b> {esc(pending)}</div>"
    return (
        "<div class='nbrepro-summary' style='border-left:3px solid var(--jp-brand-color1, #1976d2);padding:4px 8px'>"
        f"<div><b>nbrepro</b> captured this run</div><table>{body}</table>{notes}</div>"
    )
