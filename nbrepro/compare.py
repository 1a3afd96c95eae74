"""The reproduction report: what differs between two captured runs, and the verdict.

Sections, in the order a reader needs them (causes before effects): data,
environment, code, then the results: params, metrics, outputs. The verdict is
``failed`` when the rerun raised, ``differs`` when data, code or any result
differs, else ``reproduced``. Environment drift is always reported but does not
by itself make a run differ: identical results on another environment *are* a
reproduction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nbrepro import codediff, environment, outputs
from nbrepro.errors import NotebookExecutionError
from nbrepro.runs import CapturedRun

SECTIONS = ("data", "environment", "code", "params", "metrics", "outputs")
VERDICT_SECTIONS = ("data", "code", "params", "metrics", "outputs")


def compare_data(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Per table URI: the (table id, version, files) each run read."""

    def by_uri(rec: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for read in rec["data"]["reads"]:
            out.setdefault(read["uri"], []).append(read)
        return out

    ra, rb = by_uri(a), by_uri(b)
    tables = []
    for uri in sorted(set(ra) | set(rb)):
        left = sorted(
            (r["version"], r.get("table_id"), r.get("file_fingerprint")) for r in ra.get(uri, [])
        )
        right = sorted(
            (r["version"], r.get("table_id"), r.get("file_fingerprint")) for r in rb.get(uri, [])
        )
        same = left == right
        note = ""
        if not left or not right:
            note = "read only by the " + ("rerun" if not left else "original")
        elif not same:
            ids_a, ids_b = {x[1] for x in left}, {x[1] for x in right}
            if ids_a != ids_b:
                note = "table re-created (different table id)"
            elif [x[0] for x in left] != [x[0] for x in right]:
                note = (
                    "moved: v"
                    + ",".join(str(x[0]) for x in left)
                    + " -> v"
                    + ",".join(str(x[0]) for x in right)
                )
            else:
                note = "same version, different files"
        tables.append(
            {
                "uri": uri,
                "same": same,
                "original": [
                    {"version": v, "table_id": t, "file_fingerprint": f} for v, t, f in left
                ],
                "rerun": [
                    {"version": v, "table_id": t, "file_fingerprint": f} for v, t, f in right
                ],
                "note": note,
            }
        )
    return {"same": all(t["same"] for t in tables), "tables": tables}


def compare_environment(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Python, OS, hardware and package differences."""
    ea, eb = a["environment"], b["environment"]
    packages = environment.diff_environments(ea, eb)
    system = {}
    for section, keys in (
        ("os", ("system", "release", "machine")),
        ("hardware", ("cpu_model", "logical_cores", "gpus")),
    ):
        for key in keys:
            va, vb = (ea.get(section) or {}).get(key), (eb.get(section) or {}).get(key)
            if va != vb:
                system[f"{section}.{key}"] = {"original": va, "rerun": vb}
    same = bool(packages.get("same")) and not system and ea.get("hash") == eb.get("hash")
    return {
        "same": same,
        "hash": [ea.get("hash"), eb.get("hash")],
        "packages": packages,
        "system": system,
    }


def compare_values(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    tolerances: Mapping[str, float] | None = None,
    default_tolerance: float = 0.0,
) -> dict[str, Any]:
    """Params (exact) or metrics (relative tolerance per name, default exact)."""
    tolerances = tolerances or {}
    rows: list[dict[str, Any]] = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, float | int) and isinstance(vb, float | int):
            tol = tolerances.get(key, default_tolerance)
            same = _close(float(va), float(vb), tol)
            rows.append({"name": key, "original": va, "rerun": vb, "same": same, "tolerance": tol})
        else:
            rows.append({"name": key, "original": va, "rerun": vb, "same": va == vb})
    return {"same": all(r["same"] for r in rows), "compared": len(rows), "values": rows}


def _close(a: float, b: float, rel: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if rel <= 0:
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b))


def _compare_recorded_outputs(
    original: CapturedRun, rerun: CapturedRun, sanitizers: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    # A magic capture records only its own cell's outputs: compare the cells both runs
    # recorded; a cell recorded by one side only is not a difference.
    # stderr (warnings, progress bars) depends on import order and library versions, not
    # on the result: it is compared and shown, but does not decide the verdict.
    oa, ob = original.executed_outputs(), rerun.executed_outputs()
    common = sorted(oa.keys() & ob.keys())
    result = outputs.compare_outputs(
        {k: _no_stderr(oa[k]) for k in common}, {k: _no_stderr(ob[k]) for k in common}, sanitizers
    )
    stderr = outputs.compare_outputs(
        {k: _only_stderr(oa[k]) for k in common},
        {k: _only_stderr(ob[k]) for k in common},
        sanitizers,
    )
    result["stderr_same"] = stderr["same"]
    result["stderr_cells"] = stderr["cells"]
    result["recorded_by_one_side"] = sorted(oa.keys() ^ ob.keys())
    return result


def _no_stderr(cell: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in cell if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]


def _only_stderr(cell: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in cell if o.get("output_type") == "stream" and o.get("name") == "stderr"]


def build_report(
    original: CapturedRun,
    rerun: CapturedRun,
    *,
    tolerances: Mapping[str, float] | None = None,
    default_tolerance: float = 0.0,
    sanitizers: Sequence[tuple[str, str]] = (),
    failure: NotebookExecutionError | None = None,
) -> dict[str, Any]:
    """Compare two captured runs (a rerun against its original, or any two)."""
    a, b = original.record, rerun.record
    metrics_a = original.metrics
    metrics_b = rerun.metrics
    sections: dict[str, Any] = {
        "data": compare_data(a, b),
        "environment": compare_environment(a, b),
        "code": codediff.code_diff(original.replay(), rerun.replay()),
        "params": compare_values(original.params, rerun.params),
        "metrics": compare_values(metrics_a, metrics_b, tolerances, default_tolerance),
        "outputs": _compare_recorded_outputs(original, rerun, sanitizers),
    }
    differs = [s for s in VERDICT_SECTIONS if not sections[s]["same"]]
    if failure is not None:
        verdict = "failed"
    elif differs:
        verdict = "differs"
    else:
        verdict = "reproduced"
    notes = []
    hidden = a["code"]["hidden_state"]
    if hidden["hidden"]:
        notes.append(
            "The original session had hidden state; the rerun replays the executed order, "
            "not the document order: " + " ".join(hidden["explanations"])
        )
    return {
        "verdict": verdict,
        "differs": differs,
        "drift": [] if sections["environment"]["same"] else ["environment"],
        "original": original.run_id,
        "rerun": rerun.run_id,
        "failure": None
        if failure is None
        else {
            "cell_index": failure.cell_index,
            "execution_count": failure.execution_count,
            "ename": failure.ename,
            "evalue": failure.evalue,
        },
        "sections": sections,
        "notes": notes,
    }


def render_text(report: Mapping[str, Any]) -> str:
    """The report for a terminal."""
    s = report["sections"]
    verdict = report["verdict"].upper()
    if report["differs"]:
        verdict += f" ({', '.join(report['differs'])})"
    lines = [
        f"Reproduction report: run {report['rerun']} against {report['original']}",
        f"Verdict: {verdict}",
    ]
    if report["failure"]:
        f = report["failure"]
        lines.append(f"  failed: cell {f['cell_index']} raised {f['ename']}: {f['evalue']}")
    data = s["data"]
    lines.append("  data: " + ("same" if data["same"] else "DIFFERS"))
    for t in data["tables"]:
        versions = ",".join(f"v{x['version']}" for x in t["original"]) or "-"
        mark = "" if t["same"] else f"  <- {t['note']}"
        lines.append(f"    {t['uri']} {versions}{mark}")
    env = s["environment"]
    if env["same"]:
        lines.append("  environment: same")
    else:
        pk = env["packages"]
        lines.append(
            f"  environment: drift (python {'changed' if pk.get('python') else 'same'}, "
            f"{len(pk.get('added', []))} added, {len(pk.get('removed', []))} removed, "
            f"{len(pk.get('changed', []))} changed)"
        )
        for c in pk.get("changed", [])[:10]:
            lines.append(f"    {c['name']}: {c.get('old')} -> {c.get('new')}")
        for key, v in env["system"].items():
            lines.append(f"    {key}: {v['original']} -> {v['rerun']}")
    lines.append(f"  code: {s['code']['summary']}")
    for name in ("params", "metrics"):
        sec = s[name]
        if sec["same"]:
            lines.append(f"  {name}: same ({sec['compared']})")
            continue
        lines.append(f"  {name}: DIFFERS")
        for row in sec["values"]:
            if not row["same"]:
                lines.append(f"    {row['name']}: {row['original']} -> {row['rerun']}")
    out = s["outputs"]
    lines.append(
        f"  outputs: {'same' if out['same'] else 'DIFFER'} ({out['compared']} cell(s) compared)"
        + ("" if out.get("stderr_same", True) else "; stderr differs (warnings, not counted)")
    )
    for cell in out.get("cells", [])[:5]:
        lines.append(f"    cell {cell['cell']}:")
        lines.extend("      " + line for line in cell["diff"].splitlines()[:12])
    lines.extend(f"  note: {n}" for n in report["notes"])
    return "\n".join(lines)
