"""The reproduction report: what differs between two captured runs, and the verdict.

Sections, in the order a reader needs them (causes before effects): data,
environment, code, then the results: params, metrics, outputs (a run's failure is
one of its outputs). Environment drift is always reported but does not by itself
make a run differ: identical results on another environment *are* a reproduction.
A rerun's cells are compared with the original's by identity (the execution each
replays), never by position; two runs of which neither re-executes the other, by
position. docs/verdict.md says what each verdict means and what is compared.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import nbformat

from nbrepro.capture import environment
from nbrepro.capture.assemble import cut_like
from nbrepro.capture.delta.changes import changes_phrase, log_between
from nbrepro.capture.delta.storage import options_of
from nbrepro.capture.history import origin_of, tags_of
from nbrepro.errors import NotebookExecutionError, cell_label
from nbrepro.record.tags import INJECTED_PARAMETERS_TAG
from nbrepro.record.vocabulary import DIFFERS, FAILED, REPRODUCED, Verdict
from nbrepro.reproduce.compare import codediff, outputs
from nbrepro.store.runs import CapturedRun, label_of

DEAD_KERNEL = "DeadKernelError"  # nbclient's name for a kernel that died in a cell
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
    # A read nbrepro could not record may have read anything: the data cannot be said
    # to be the same, so each such note is a differing row.
    for who, rec in (("original", a), ("rerun", b)):
        unrecorded = [n for n in rec["data"].get("notes") or [] if UNRECORDED_READ.search(n)]
        for note in unrecorded[:5]:
            tables.append(
                {
                    "uri": UNRECORDED_URI,
                    "same": False,
                    "original": [],
                    "rerun": [],
                    "note": f"{who}: {note}",
                }
            )
    return {"same": all(t["same"] for t in tables), "tables": tables}


def with_log_changes(
    section: dict[str, Any], a: Mapping[str, Any], b: Mapping[str, Any]
) -> dict[str, Any]:
    """The data section with, for each table the runs read at different versions of the
    same table, what the Delta log says happened between them (``changes``); never raises.
    """
    for table in section["tables"]:
        left, right = table["original"], table["rerun"]
        ids = {r["table_id"] for r in [*left, *right]}
        if not left or not right or len(ids) != 1:
            continue
        v_a, v_b = max(r["version"] for r in left), max(r["version"] for r in right)
        if v_a == v_b:
            continue
        reads = [r for rec in (a, b) for r in rec["data"]["reads"] if r["uri"] == table["uri"]]
        storage = next((o for o in map(options_of, reads) if o), None)
        table["changes"] = log_between(table["uri"], ids.pop(), v_a, v_b, storage)
    return section


# How a capture says a read was not recorded (nbrepro.capture.delta: watcher, spark).
UNRECORDED_READ = re.compile(r"\breads?\b.*\bnot recorded\b")
UNRECORDED_URI = "(reads not recorded)"


def compare_environment(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Python, OS, hardware and package differences."""
    ea, eb = a["environment"], b["environment"]
    packages = environment.diff_environments(ea, eb)
    system = {}
    for section, keys in (
        ("os", ("system", "release", "machine")),
        ("hardware", ("cpu_model", "logical_cores", "gpus")),
        ("kernel", ("name", "language")),
    ):
        if not ea.get(section) or not eb.get(section):
            continue  # a record from before nbrepro recorded it
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
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if math.isinf(a) or math.isinf(b):  # inf - x <= rel * inf for every x
        return False
    if rel <= 0:
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b))


def recorded_outputs(
    original: CapturedRun, rerun: CapturedRun
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[dict[str, Any]]], dict[int, int]]:
    """Both runs' recorded outputs, keyed alike (the keys of a report's cells), and the
    cells the original recorded only in part (key to its byte cap), cut alike.

    Cells are aligned by identity: a rerun's cells by the original's execution each
    replays, so a cell papermill added (its parameters) cannot shift the others. Two
    runs of which neither re-executes the other are aligned by position.
    """
    oa = dict(original.executed_outputs())
    ob = dict(rerun.executed_outputs(by_origin=rerun.re_executes(original)))
    # A cell whose outputs the capture cut at its cap is compared as far as recorded:
    # the rerun's outputs are cut to what was kept (a wrong "outputs differ" otherwise).
    capped = {}
    for key, limit in original.capped_outputs().items():
        if key in oa and key in ob:
            oa[key], ob[key] = cut_like(oa[key], ob[key])
            capped[key] = limit
    return oa, ob, capped


def _compare_recorded_outputs(
    original: CapturedRun,
    rerun: CapturedRun,
    sanitizers: Sequence[tuple[str, str]],
    ignore_volatile: bool,
) -> dict[str, Any]:
    oa, ob, cut = recorded_outputs(original, rerun)
    labels = original.cell_labels()
    capped = [
        {"cell": key, "label": label_of(labels, key), "limit": limit} for key, limit in cut.items()
    ]
    common = sorted(oa.keys() & ob.keys())
    result = outputs.compare_outputs(
        {k: oa[k] for k in common},
        {k: ob[k] for k in common},
        sanitizers,
        ignore_volatile=ignore_volatile,
        labels=labels,
    )
    # A cell one run lacks: if that run records every cell it runs (headless), it did
    # not run it, which is a difference; a %%repro capture just did not record it.
    result["only_in_a"] = sorted(oa.keys() - ob.keys()) if rerun.records_every_cell else []
    result["not_rerun"] = [label_of(labels, k) for k in result["only_in_a"]]
    result["only_in_b"] = sorted(ob.keys() - oa.keys()) if original.records_every_cell else []
    one_side = oa.keys() ^ ob.keys()
    result["recorded_by_one_side"] = sorted(
        one_side - set(result["only_in_a"]) - set(result["only_in_b"])
    )
    result["capped"] = capped
    _settle(result)
    return result


def _settle(out: dict[str, Any]) -> None:
    """Recompute the outputs section's ``same`` and ``volatile_only`` from its parts."""
    out["same"] = not any(c["counted"] for c in out["cells"]) and not (
        out["only_in_a"] or out["only_in_b"]
    )
    if out.get("failures") and not out["failures"]["same"]:
        out["same"] = False
    out["volatile_only"] = bool(out["cells"]) and all(c["volatile"] for c in out["cells"])


def _failure_of(
    run: CapturedRun, by_origin: bool, labels: Mapping[int, str] | None = None
) -> dict[str, Any] | None:
    """The error that ended a run, with the identity of the cell it ended in.

    ``labels``: how the original names its cells; a rerun's cell that replays one of
    them is named as the original names it (its own place is in the replay).
    """
    rec = run.record
    err = rec["run"].get("error")
    if not err:
        return None
    cells = rec["code"]["cells"]
    position = err.get("position")
    if position is None and "position" not in err:  # a %%repro capture: its own cell
        capture = rec["code"].get("capture_cell")
        position = capture if capture is not None else (len(cells) - 1 if cells else None)
    key = position
    if position is not None and position < len(cells):
        key = run.cell_keys(by_origin)[position]
    cell = cells[position] if position is not None and position < len(cells) else {}
    if not cell:
        label = "before any cell"
    elif by_origin and labels is not None and key is not None:
        label = label_of(labels, key)
    elif by_origin:
        label = "papermill's parameters cell" if key is None else f"execution {key + 1}"
    else:
        label = run.cell_labels().get(position, cell_label(None, cell.get("execution_count")))
    return {
        "cell": key,
        "label": label,
        "ename": str(err.get("ename", "")),
        "evalue": str(err.get("evalue", "")),
    }


def compare_failures(
    original: CapturedRun, rerun: CapturedRun, sanitizers: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Whether the runs ended the same way: both completed, or both failed in the same
    cell with the same error (name, and message after removing noise)."""
    labels = original.cell_labels()
    fa = _failure_of(original, False)
    fb = _failure_of(rerun, rerun.re_executes(original), labels)
    same = fa is None and fb is None
    if fa is not None and fb is not None:
        clean = [*sanitizers, *outputs.DEFAULT_SANITIZERS]
        same = (
            fa["cell"] == fb["cell"]
            and fa["ename"] == fb["ename"]
            and outputs.sanitize(fa["evalue"], clean) == outputs.sanitize(fb["evalue"], clean)
        )
    return {"same": same, "original": fa, "rerun": fb}


def build_report(
    original: CapturedRun,
    rerun: CapturedRun,
    *,
    tolerances: Mapping[str, float] | None = None,
    default_tolerance: float = 0.0,
    sanitizers: Sequence[tuple[str, str]] = (),
    ignore_volatile: bool = False,
    failure: NotebookExecutionError | None = None,
) -> dict[str, Any]:
    """Compare two captured runs (a rerun against its original, or any two).

    The verdict is ``failed`` when the rerun failed where the original did not (or in
    another cell), or when nothing at all could be compared; ``differs`` when data,
    code or a result differs, or the runs failed differently; else ``reproduced`` (a
    failure the original had, reproduced in the same cell with the same error, is
    part of a reproduction and is named in ``failure_reproduced``).

    Args:
        failure: the rerun's failing cell as the executor saw it (shown as is).
    """
    a, b = original.record, rerun.record
    sections: dict[str, Any] = {
        "data": with_log_changes(compare_data(a, b), a, b),
        "environment": compare_environment(a, b),
        "code": codediff.code_diff(
            _code_only(original.replay(), ran=_ran_by(rerun, original)),
            _code_only(rerun.replay()),
            original.cell_labels(),
            rerun.cell_labels(),
        ),
        "params": compare_values(original.params, rerun.params),
        "metrics": compare_values(original.metrics, rerun.metrics, tolerances, default_tolerance),
        "outputs": _compare_recorded_outputs(original, rerun, sanitizers, ignore_volatile),
    }
    failures = compare_failures(original, rerun, sanitizers)
    out = sections["outputs"]
    out["failures"] = failures
    notes: list[str] = []
    died = failures["original"]
    if failures["same"] and died is not None and died["ename"] == DEAD_KERNEL:
        # What a dying kernel printed last may or may not reach Jupyter before it dies:
        # one run's outputs of that cell may stop short of the other's, no more.
        key = died["cell"]
        cut = [c for c in out["cells"] if c["cell"] == key and c["truncation"]]
        if cut:
            out["cells"] = [c for c in out["cells"] if c not in cut]
            notes.append(
                f"The kernel died in {died['label']} in both runs, and one run's outputs of "
                "that cell stop short of the other's (what a kernel prints just before it "
                "dies may not arrive); that is not counted as a difference."
            )
    for cut in out["capped"]:
        notes.append(
            f"The original recorded only the first {cut['limit']} bytes of the outputs of "
            f"{cut['label']} (its output cap); the rerun's were compared as far as that, "
            "and the rest was not compared."
        )
    _settle(out)
    differs = [s for s in VERDICT_SECTIONS if not sections[s]["same"]]
    fa, fb = failures["original"], failures["rerun"]
    # Results only: reading the same data says nothing about what came of it, a cell
    # that printed nothing in either run shows nothing, and papermill parameters a rerun
    # replays are its input, the same by construction.
    inputs = set(a["run"].get("parameters") or {}) | set(b["run"].get("parameters") or {})
    params = [r for r in sections["params"]["values"] if r["name"] not in inputs]
    compared = (
        out["with_outputs"]
        + len(out["only_in_a"])
        + len(params)
        + sections["metrics"]["compared"]
        + (1 if fa is not None and fa["cell"] is not None else 0)
    )
    failed = fb is not None and (fa is None or fb["cell"] is None or fa["cell"] != fb["cell"])
    verdict: Verdict
    if failed:
        verdict = FAILED
    elif differs:
        verdict = DIFFERS
    elif compared == 0:
        verdict = FAILED
        notes.append(
            "Nothing could be compared: the original recorded no outputs, params or metrics "
            "that the rerun also has, so whether it reproduces is unknown."
        )
    else:
        verdict = REPRODUCED
    if verdict == DIFFERS and any(_reordered(c.get("diff") or "") for c in out["cells"]):
        notes.extend(_hash_seed_notes(a, b))
    hidden = a["code"]["hidden_state"]
    if hidden["hidden"]:
        notes.append(
            "The original session had hidden state; the rerun replays the executed order, "
            "not the document order: " + " ".join(hidden["explanations"])
        )
    shown_failure = None
    if fb is not None and not failures["same"]:
        shown_failure = {
            "cell_index": failure.cell_index if failure is not None else -1,
            "execution_count": failure.execution_count if failure is not None else None,
            # Both name a replayed cell as the original's notebook does.
            "cell": fb["label"] if failure is None else failure.where,
            "ename": fb["ename"],
            "evalue": fb["evalue"],
        }
    volatile = sorted({k for c in out["cells"] for k in c["volatile"]})
    return {
        "verdict": verdict,
        "differs": differs,
        "drift": [] if sections["environment"]["same"] else ["environment"],
        "original": original.run_id,
        "rerun": rerun.run_id,
        "failure": shown_failure,
        "failure_reproduced": fa if fa is not None and failures["same"] else None,
        "volatile": {
            "ignored": ignore_volatile,
            "kinds": volatile,
            "only": out["volatile_only"],
        },
        "sections": sections,
        "notes": notes,
    }


def _reordered(diff: str) -> bool:
    """Whether a cell's outputs differ only in the order of their words (a set printed
    in another order), as its diff shows them."""
    removed, added = [], []
    for line in diff.splitlines():
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    words_a = sorted(re.findall(r"\w+", "\n".join(removed)))
    words_b = sorted(re.findall(r"\w+", "\n".join(added)))
    return bool(words_a) and words_a == words_b and removed != added


def _hash_seed_notes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Why sets of strings may have come out in another order (a cell's outputs differ
    in the order of their words only): hashing randomized in either run, or seeded
    differently (records from before nbrepro recorded it: nothing)."""
    found = [(r["environment"].get("python") or {}).get("hash_seed") for r in (a, b)]
    seeds: list[Mapping[str, Any]] = [s for s in found if isinstance(s, Mapping)]
    if len(seeds) < 2:
        return []
    names = ("the original", "the rerun")
    random = [name for name, s in zip(names, seeds, strict=True) if s.get("fixed") is not True]
    advice = (
        "the order of a set of strings, and of anything built from one, can change from "
        "run to run, and a cell's outputs here differ only in the order of their words. "
        "Sort where the order matters, or start the kernel with PYTHONHASHSEED set "
        "(`nbrepro run` sets it, and a rerun restores it)."
    )
    if random:
        where = "both runs" if len(random) == 2 else random[0]
        return [
            f"String hashing was randomized in {where} (PYTHONHASHSEED unset or 'random', "
            f"as in a Jupyter kernel started without it): {advice}"
        ]
    if str(seeds[0].get("seed")) != str(seeds[1].get("seed")):
        return [
            f"The runs hashed strings with different seeds (PYTHONHASHSEED "
            f"{seeds[0]['seed']} and {seeds[1]['seed']}): {advice}"
        ]
    return []


# Usual causes of a cell giving another answer under the same code, data, environment
# and hash seed, as its code shows them: (what, pattern in the code up to that cell).
_CAUSES = (
    (
        "unseeded random numbers (random, numpy, torch, sklearn's random_state=None): seed "
        "them, or run the capture with %%repro --seed N",
        re.compile(
            r"\brandom\.|np\.random|numpy\.random|torch\.(rand|randn|randint|normal)|"
            r"\bshuffle\b|\.sample\(|default_rng\(\)|random_state\s*=\s*None"
        ),
    ),
    (
        "the wall clock (datetime.now, time.time, durations)",
        re.compile(r"datetime\.(now|utcnow|today)|\btime\.(time|perf_counter|monotonic)\("),
    ),
    (
        "thread count or parallel work (n_jobs, threads, multiprocessing): floating-point "
        "sums in another order; BLAS threads too (OMP_NUM_THREADS)",
        re.compile(r"n_jobs|num_threads|nthread|multiprocessing|concurrent\.futures|joblib"),
    ),
    (
        "GPU kernels that are not deterministic (torch.use_deterministic_algorithms(True), "
        "CUBLAS_WORKSPACE_CONFIG)",
        re.compile(r"\.cuda\b|\.to\(['\"]cuda|device\s*=\s*['\"]cuda|tensorflow|\bjax\b"),
    ),
    (
        "the order of sets or of files listed from disk (os.listdir, glob)",
        re.compile(r"\bset\(|os\.listdir|\bglob\(|\.iterdir\(|os\.scandir"),
    ),
)


def compare_repeats(
    original: CapturedRun,
    reruns: Sequence[CapturedRun],
    *,
    tolerances: Mapping[str, float] | None = None,
    default_tolerance: float = 0.0,
    sanitizers: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Reruns of ``original`` (same pins, environment, hash seed) compared with the first
    of them: whether they agree, and if not, the first of the original's cells whose
    outputs differ between them, the params and metrics that do, and the usual causes
    the code up to that cell shows.

    Volatile values count here (a printed time is a way of never answering the same).
    """
    first, labels = reruns[0], original.cell_labels()
    base = dict(first.executed_outputs(by_origin=first.re_executes(original)))
    diverging: set[int] = set()
    params: set[str] = set()
    metrics: set[str] = set()
    for other in reruns[1:]:
        mine = dict(other.executed_outputs(by_origin=other.re_executes(original)))
        common = sorted(base.keys() & mine.keys())
        out = outputs.compare_outputs(
            {k: base[k] for k in common}, {k: mine[k] for k in common}, sanitizers, labels=labels
        )
        diverging.update(c["cell"] for c in out["cells"])
        diverging.update(base.keys() ^ mine.keys())
        params.update(
            r["name"] for r in compare_values(first.params, other.params)["values"] if not r["same"]
        )
        found = compare_values(first.metrics, other.metrics, tolerances, default_tolerance)
        metrics.update(r["name"] for r in found["values"] if not r["same"])
    agree = not (diverging or params or metrics)
    first_cell = min(diverging) if diverging else None
    return {
        "runs": [r.run_id for r in reruns],
        "agree": agree,
        "first_divergence": None
        if first_cell is None
        else {"cell": first_cell, "label": label_of(labels, first_cell)},
        "params": sorted(params),
        "metrics": sorted(metrics),
        "likely_causes": [] if agree else _likely_causes(original, first_cell),
    }


def _likely_causes(original: CapturedRun, upto: int | None) -> list[str]:
    """The usual causes the code shows, up to the first diverging cell (all of it when
    no cell's outputs differ: a metric was logged somewhere)."""
    cells = original.record["code"]["cells"]
    code = "\n".join(
        str(c.get("source") or "") for k, c in enumerate(cells) if upto is None or k <= upto
    )
    return [what for what, pattern in _CAUSES if pattern.search(code)]


def repeat_note(repeat: Mapping[str, Any]) -> str:
    """What the reruns' agreement says, in words."""
    n = len(repeat["runs"])
    if repeat["agree"]:
        return (
            f"The {n} reruns agree with each other: the notebook gives the same results "
            "under the same pins and environment."
        )
    where = []
    if repeat["first_divergence"] is not None:
        where.append(
            f"the first cell whose outputs differ is {repeat['first_divergence']['label']}"
        )
    if repeat["params"] or repeat["metrics"]:
        names = ", ".join([*repeat["params"], *repeat["metrics"]])
        where.append(f"params or metrics differ: {names}")
    said = "; ".join(where)
    causes = (
        "usual causes in the code up to it: " + "; ".join(repeat["likely_causes"])
        if repeat["likely_causes"]
        else "none of the usual causes shows in the code up to it"
    )
    return (
        f"The {n} reruns disagree among themselves, under the same pins and environment: the "
        f"notebook is nondeterministic, and a difference from the original may be that "
        f"rather than a change. {said[:1].upper()}{said[1:]}; {causes}."
    )


def _ran_by(rerun: CapturedRun, original: CapturedRun) -> set[int] | None:
    """The original's executions a rerun of it ran (it may stop early); None: not a rerun."""
    if not rerun.re_executes(original) or not rerun.records_every_cell:
        return None
    return {k for k in rerun.cell_keys(by_origin=True) if k is not None}


def _code_only(nb: Any, ran: set[int] | None = None) -> Any:
    """The replay without papermill's parameters cell: parameters are compared as params.

    With ``ran``, only the original's executions the rerun ran: cells it never reached
    (it stopped early) are an outputs difference, not a code change.
    """
    copy = nbformat.from_dict(dict(nb))
    copy.cells = [
        c
        for k, c in enumerate(nb.cells)
        if INJECTED_PARAMETERS_TAG not in tags_of(c)
        and (ran is None or (origin_of(c) if origin_of(c) is not None else k) in ran)
    ]
    return copy


def verdict_line(report: Mapping[str, Any]) -> str:
    """``Verdict: DIFFERS (outputs)``, with what a reader must know to trust it."""
    verdict = report["verdict"].upper()
    if report["differs"] and report["verdict"] != FAILED:
        verdict += f" ({', '.join(report['differs'])})"
    volatile = report.get("volatile") or {}
    kinds = ", ".join(volatile.get("kinds") or [])
    failures_same = report["sections"]["outputs"].get("failures", {}).get("same", True)
    if (
        report["verdict"] == DIFFERS
        and volatile.get("only")
        and not volatile.get("ignored")
        and failures_same
        and report["differs"] == ["outputs"]
    ):
        verdict += (
            f": only volatile values differ ({kinds}); --ignore-volatile would not count them"
        )
    elif volatile.get("ignored") and kinds:
        verdict += f" (volatile values ignored: {kinds})"
    repeat = report.get("repeat")
    if repeat and not repeat["agree"]:
        first = repeat["first_divergence"]
        verdict += f"; NONDETERMINISTIC: its {len(repeat['runs'])} reruns disagree" + (
            f" from {first['label']}" if first else ""
        )
    done = report.get("failure_reproduced")
    if done and report["verdict"] == REPRODUCED:
        verdict += (
            f", including the original's failure: {done['label']} raised "
            f"{done['ename']}: {done['evalue']}"
        )
    return f"Verdict: {verdict}"


def render_text(report: Mapping[str, Any]) -> str:
    """The report for a terminal."""
    s = report["sections"]
    lines = [
        f"Reproduction report: run {report['rerun']} against {report['original']}",
        verdict_line(report),
    ]
    if report["failure"]:
        f = report["failure"]
        lines.append(f"  failed: {f['cell']} raised {f['ename']}: {f['evalue']}")
    data = s["data"]
    lines.append("  data: " + ("same" if data["same"] else "DIFFERS"))
    for t in data["tables"]:
        versions = ",".join(f"v{x['version']}" for x in t["original"]) or "-"
        mark = "" if t["same"] else f"  <- {t['note']}"
        lines.append(f"    {t['uri']} {versions}{mark}")
        if t.get("changes"):  # reports from before nbrepro read the log have none
            lines.append(f"      {changes_phrase(t['changes'])}")
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
    for change in s["code"]["changes"][:10]:
        lines.append(f"    {_change_label(change)} {change['kind']}")
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
        f"  outputs: {'same' if out['same'] else 'DIFFER'} ({out['compared']} cell{'' if out['compared'] == 1 else 's'} compared)"
    )
    failures = out.get("failures") or {}
    if not failures.get("same", True):
        fa, fb = failures.get("original"), failures.get("rerun")
        lines.append(
            "    the original "
            + (f"failed at {fa['label']} with {fa['ename']}" if fa else "completed")
            + ", the rerun "
            + (f"failed at {fb['label']} with {fb['ename']}" if fb else "completed")
        )
    if out.get("not_rerun"):
        lines.append("    not run by the rerun: " + ", ".join(out["not_rerun"][:10]))
    for cell in out.get("cells", [])[:5]:
        tag = ""
        if cell.get("volatile"):
            tag = f" (volatile: {', '.join(cell['volatile'])}" + (
                "; not counted)" if not cell.get("counted", True) else ")"
            )
        lines.append(f"    {cell.get('label') or 'cell ' + str(cell['cell'])}{tag}:")
        lines.extend("      " + line for line in cell["diff"].splitlines()[:12])
    lines.extend(_model_lines(s.get("model")))
    lines.extend(f"  note: {n}" for n in report["notes"])
    return "\n".join(lines)


def _change_label(change: Mapping[str, Any]) -> str:
    """How a user finds a changed cell; a report from before labels: its place in the
    replay (only the executed cells), from 1."""
    label = change.get("label_a") or change.get("label_b")
    if label:
        return str(label)
    index = change["index_a"] if change["index_a"] is not None else change["index_b"]
    return f"replayed cell {index + 1}"


def _model_lines(section: Mapping[str, Any] | None) -> list[str]:
    """The model section (only when either run logged a model)."""
    if not section:
        return []
    lines = [f"  model: {'same' if section['same'] else 'DIFFERS'} ({section['compared']})"]
    for row in section["models"]:
        if row.get("note") and "flavors" not in row:
            lines.append(f"    {row['name']}: {row['note']}")
            continue
        parts = []
        for part in ("flavors", "signature", "requirements"):
            parts.append(f"{part} {'same' if row[part]['same'] else 'DIFFER'}")
        pred = row["predictions"]
        if pred["same"] is None:
            parts.append("predictions not compared")
        else:
            parts.append(f"predictions {'same' if pred['same'] else 'DIFFER'}")
            if pred.get("on") and pred["on"] != "the logged input example":
                parts[-1] += f" on {pred['on']}"
            if pred.get("max_difference"):
                parts[-1] += f" (max difference {pred['max_difference']:.3g})"
        if row["bytes_identical"]:
            parts.append("files byte-identical")
        lines.append(f"    {row['name']}: " + ", ".join(parts))
    return lines
