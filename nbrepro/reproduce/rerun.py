"""Re-execute a captured run pinned to its data, and report whether it reproduced.

The rerun executes the original's replay notebook (the code as the kernel ran
it, in execution order) through the headless runner, so it is captured as a
new run of the same experiment with its own complete record. Delta tables the
original read without naming a version are pinned to the versions it read;
versions the code names stay as written. The recorded seed comes back with the
replayed ``%%repro --seed`` cell.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from nbrepro import record
from nbrepro.capture.delta.storage import options_of
from nbrepro.capture.delta.tables import WAY_OUT, Pin, check_pins, is_table_gone, table_now
from nbrepro.capture.delta.uri import normalize_uri
from nbrepro.capture.environment import HASH_SEED_ENV, recorded_hash_seed
from nbrepro.progress import ProgressWriter
from nbrepro.record.bundle import LogBundle
from nbrepro.record.summary import versions_label
from nbrepro.record.tags import (
    DATA_MODE_TAG,
    ENV_MODE_TAG,
    LAST_DATA_OF_MODE_TAG,
    LAST_RERUN_OF_MODE_TAG,
    LAST_RERUN_TAG,
    LAST_VERDICT_OF_MODE_TAG,
    LAST_VERDICT_TAG,
    MLFLOW_RUN_NAME_TAG,
    REPRODUCES_TAG,
    VERDICT_TAG,
)
from nbrepro.record.vocabulary import (
    CURRENT,
    DATA_GONE,
    DATA_MODES,
    DIFFERS,
    ENV_MODES,
    FAILED,
    LATEST,
    PINNED,
    PINNED_DATA_UNAVAILABLE,
    RECORDED,
    REPRODUCED,
    TABLE_MISSING,
)
from nbrepro.redact import REDACTED, safe_message
from nbrepro.reproduce.compare import report as compare
from nbrepro.reproduce.envbuild import ensure_environment
from nbrepro.reproduce.headless import is_redacted_parameter, require_kernel, run_notebook
from nbrepro.store import models
from nbrepro.store.runs import CapturedRun, RunNotUsable, load_run

if TYPE_CHECKING:
    from nbrepro.reproduce.compare.models import ModelSample
from nbrepro.store.tracking import client_for, log_bundle

REPORT_JSON = "nbrepro/report.json"
REPORT_TEXT = "nbrepro/report.txt"


class DataUnavailable(RunNotUsable):
    """A table the original read cannot be read any more: it is gone (any ``--data``).

    ``tables``: each table's problem (``UnavailableTable`` of the API), for a client to
    say in its own words; :meth:`reason` is a job's ``error_reason``.
    """

    def __init__(self, message: str, tables: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.tables = [dict(t) for t in tables]

    def reason(self) -> dict[str, Any]:
        """``{"code", "tables"}``: ``pinned-data-unavailable`` when the same rerun on the
        latest data can run (no table is gone), else ``data-gone``."""
        gone = any(t["kind"] == TABLE_MISSING for t in self.tables)
        return {
            "code": DATA_GONE if gone else PINNED_DATA_UNAVAILABLE,
            "tables": self.tables,
        }


class PinnedDataUnavailable(DataUnavailable):
    """A table the original read cannot be read at its recorded version any more."""


@dataclass
class RerunOptions:
    data: str = PINNED  # or LATEST
    env: str = CURRENT  # or RECORDED
    allow_missing: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    timeout: int | None = None
    tolerances: dict[str, float] = field(default_factory=dict)
    default_tolerance: float = 0.0
    sanitizers: Sequence[tuple[str, str]] = ()
    ignore_volatile: bool = False
    progress: bool = False
    kernel_name: str | None = None
    log: Callable[[str], None] = lambda _: None
    # Append progress lines here (phases, then one per executed cell): nbrepro.progress.
    progress_file: str | None = None
    # Spark Connect address replacing the notebook's (a secret: may hold a token).
    spark_remote: str | None = None
    # Reruns under the same pins and environment: more than one tells nondeterminism apart.
    repeat: int = 1
    # A CSV, Parquet or JSON file the models' predictions are compared on (instead of
    # each model's logged input example).
    model_sample: str | None = None


@dataclass
class RerunResult:
    report: dict[str, Any]
    rerun_run_id: str
    output_path: str
    # The run re-executed (a model version's source run, when given models:/...).
    original_run_id: str = ""


def pins_for(rec: Mapping[str, Any]) -> tuple[dict[str, Pin], list[str]]:
    """Pins from a record: the version each table was read at when no version was named."""
    pins: dict[str, Pin] = {}
    notes = []
    for read in rec["data"]["reads"]:
        # A record is one (table, version): the code may have named that version in one
        # read and taken the latest in another. Only reads that all named it stay as written.
        if read.get("pinned_by_user") and not read.get("latest_at_read"):
            continue
        uri = read["uri"]
        if uri in pins and pins[uri]["version"] != read["version"]:
            notes.append(
                f"{uri} was read at several versions without naming one; "
                f"pinned to the last, v{read['version']}"
            )
        pins[uri] = {"version": int(read["version"]), "table_id": read.get("table_id")}
    return pins, notes


def gone_tables(reads: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The tables among ``reads`` that no longer exist, with the reads of each.

    Only deltalake's "table not found" counts: a table that cannot be opened for another
    reason (credentials, the network) may still be there.
    """
    by_uri: dict[str, list[Mapping[str, Any]]] = {}
    for read in reads:
        by_uri.setdefault(normalize_uri(str(read["uri"])), []).append(read)
    gone = {}
    for uri, its_reads in by_uri.items():
        try:
            table_now(uri, storage_of(its_reads).get(uri))
        except Exception as exc:  # only proof it is gone counts: check_pins reports the rest
            if is_table_gone(exc):
                gone[uri] = its_reads
    return gone


def storage_of(reads: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """The recorded storage options of each object-store table among ``reads``."""
    out: dict[str, dict[str, str]] = {}
    for read in reads:
        options = options_of(read)
        if options:
            out.setdefault(normalize_uri(str(read["uri"])), options)
    return out


def gone_message(uri: str, reads: Sequence[Mapping[str, Any]]) -> str:
    """What to say of a table that is gone, and what can be done: once, for any ``--data``."""
    versions = sorted({int(r["version"]) for r in reads})
    read_at = (
        f"version {versions[0]}"
        if len(versions) == 1
        else "versions " + ", ".join(str(v) for v in versions)
    )
    table_id = next((r.get("table_id") for r in reads if r.get("table_id")), None)
    recorded = f"the run read {read_at}" + (f" of table id {table_id}" if table_id else "")
    return (
        f"Delta table {uri} is gone ({recorded}): there is no Delta table at that location "
        "any more. Restore it there, or put a copy of it (or a link to one) at that path, "
        "to re-execute this run; without it, this run's data cannot be reproduced."
    )


def check_data(rec: Mapping[str, Any], pins: Mapping[str, Pin], data: str) -> list[str]:
    """Stop before executing when the data the run read cannot be read as asked.

    A table that is gone stops any rerun (``--data latest`` cannot read it either); with
    ``--data pinned``, so does a pinned version that cannot be read as it was.

    Returns:
        Notes for the report: pins that could not be checked from here.

    Raises:
        DataUnavailable: a table is gone (``PinnedDataUnavailable`` with pins), each
            problem named once, with what can be done.
    """
    # A table the run wrote may be one it creates before reading it: the rerun makes it.
    written = {normalize_uri(str(w["uri"])) for w in rec["data"].get("writes") or []}
    missing = gone_tables(rec["data"]["reads"])
    gone = {uri: reads for uri, reads in missing.items() if uri not in written}
    lines = [gone_message(uri, reads) for uri, reads in gone.items()]
    tables = [
        {
            "uri": uri,
            "version": max(int(r["version"]) for r in reads),
            "kind": TABLE_MISSING,
            "detail": "the table is gone",
        }
        for uri, reads in gone.items()
    ]
    way_out = False
    if data == PINNED:
        left = {uri: pin for uri, pin in pins.items() if normalize_uri(uri) not in missing}
        problems = check_pins(left, storage_of(rec["data"]["reads"]))
        fatal = [p for p in problems if p.get("fatal")]
        lines.extend(p["message"] for p in fatal)
        tables.extend(
            {"uri": p["uri"], "version": p["version"], "kind": p["kind"], "detail": p["message"]}
            for p in fatal
        )
        # The way out (--data latest), said once; a gone table has none.
        way_out = bool(fatal) and not gone
        # Tables nbrepro cannot open from here: the kernel reads them as the notebook does
        # and holds them to the pins itself.
        unchecked = [p["message"] for p in problems if p["kind"] == "unreachable"]
    else:
        unchecked = []
    if lines:
        error = PinnedDataUnavailable if data == PINNED else DataUnavailable
        listed = "\n".join(f"  - {line}" for line in lines)
        tail = f"\n{WAY_OUT}" if way_out else ""
        raise error(f"the data this run read is not available any more:\n{listed}{tail}", tables)
    return unchecked


def replay_parameters(rec: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The papermill parameters to rerun with: the recorded ones, then ``-p`` overrides.

    Raises:
        RunNotUsable: a secret-named parameter was redacted in the record and not
            given again.
    """
    merged = {**(rec["run"].get("parameters") or {}), **overrides}
    missing = sorted(k for k, v in merged.items() if is_redacted_parameter(v))
    if missing:
        flags = " ".join(f"-p {name} VALUE" for name in missing)
        raise RunNotUsable(
            f"parameter(s) {', '.join(missing)} look secret, so the run recorded them as "
            f"{REDACTED}; give them again: {flags}"
        )
    return merged


def expected_failure(rec: Mapping[str, Any]) -> int | None:
    """The original's failing execution (its position in ``code.cells``), if it failed."""
    err = rec["run"].get("error")
    if not err:
        return None
    if "position" in err:  # headless
        position = err["position"]
        return int(position) if position is not None else None
    capture = rec["code"].get("capture_cell")  # a %%repro capture fails in its own cell
    return int(capture) if capture is not None else None


def rerun_kernel(
    rec: Mapping[str, Any], replay: nbformat.NotebookNode, run_id: str, override: str | None
) -> str:
    """The kernel to rerun on: ``-k``, else the recorded one, checked to exist here."""
    recorded = (rec["environment"].get("kernel") or {}).get("name")
    if recorded and not override:
        spec = replay.metadata.setdefault("kernelspec", {})
        spec.setdefault("display_name", rec["environment"]["kernel"].get("display_name"))
        spec["name"] = recorded
    return require_kernel(replay, override, f"run {run_id}")


def working_dir(rec: Mapping[str, Any]) -> Path:
    """Where the original ran: its notebook's folder when it still exists."""
    path = rec["code"]["document"].get("path")
    if path and Path(path).parent.is_dir():
        return Path(path).parent
    return Path.cwd()


def rerun(run_id: str, tracking_uri: str, options: RerunOptions) -> RerunResult:
    """Re-execute run ``run_id`` and compare the new run with it. ``run_id`` may be a
    registered model version (``models:/NAME/VERSION``, ``models:/NAME@ALIAS``): the run
    that logged it is re-executed, and the verdict is also written on the version."""
    progress = ProgressWriter(options.progress_file)
    progress.write("checking data")
    model = None
    if models.is_model_uri(run_id):
        model = models.resolve(run_id, tracking_uri)
        run_id = model.run_id
    original = load_run(run_id, tracking_uri)
    rec = original.record
    if not rec["code"]["cells"]:
        raise RunNotUsable(
            f"run {run_id} executed no code, so there is nothing to re-execute or compare"
        )
    parameters = replay_parameters(rec, options.parameters)
    replay = original.replay()
    kernel_name: str | None = None
    if options.env != RECORDED:
        kernel_name = rerun_kernel(rec, replay, run_id, options.kernel_name)
    pins: dict[str, Pin] = {}
    notes: list[str] = []
    if options.data == PINNED:
        pins, notes = pins_for(rec)
    elif options.data != LATEST:
        raise RunNotUsable(f"--data takes {' or '.join(DATA_MODES)}, not {options.data!r}")
    notes.extend(check_data(rec, pins, options.data))

    extra_env: dict[str, str] = {}
    seed = recorded_hash_seed(rec)
    if seed is not None:  # restored, so that sets of strings come out in the same order
        extra_env[HASH_SEED_ENV] = seed
    if options.spark_remote:
        from nbrepro.capture.delta.spark import REMOTE_ENV

        extra_env[REMOTE_ENV] = extra_env["SPARK_REMOTE"] = options.spark_remote
    built = None
    if options.env == RECORDED:
        progress.write("building environment")
        built = ensure_environment(
            rec["environment"], allow_missing=options.allow_missing, log=options.log
        )
        kernel_name = built.kernel_name
        extra_env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(built.jupyter_path), os.environ.get("JUPYTER_PATH", "")) if p
        )
        notes.extend(built.notes)
        if built.skipped:
            notes.append("rebuilt without: " + "; ".join(built.skipped))
    elif options.env != CURRENT:
        raise RunNotUsable(f"--env takes {' or '.join(ENV_MODES)}, not {options.env!r}")

    if options.repeat < 1:
        raise RunNotUsable(f"--repeat takes a number of reruns (1 or more), not {options.repeat}")
    # Read before anything runs: a bad file is the user's to fix.
    sample = _model_sample(options.model_sample)
    runs: list[tuple[Any, CapturedRun, dict[str, Any]]] = []
    names: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="nbrepro-rerun-") as tmp:
        replay_path = Path(tmp) / "replay.ipynb"
        nbformat.write(replay, str(replay_path))
        base = rec["run"].get("run_name") or run_id[:8]
        # Named by its data mode: the versions pinned are known now, those of the latest
        # data once it has run (the name is completed with the report).
        pinned = versions_label({uri: [pin["version"]] for uri, pin in pins.items()})
        for n in range(1, options.repeat + 1):
            of = f" ({n} of {options.repeat})" if options.repeat > 1 else ""
            progress.write(f"executing{of}")
            result = run_notebook(
                replay_path,
                parameters=parameters,
                experiment=original.experiment_name,
                run_name=rerun_name(base, options.data, pinned, of),
                # One executed notebook asked for: the first rerun's.
                output=options.output if n == 1 else None,
                tracking_uri=tracking_uri,
                kernel_name=kernel_name,
                progress=options.progress,
                timeout=options.timeout
                if options.timeout is not None
                else rec["run"].get("timeout"),
                cwd=working_dir(rec),
                pins=pins,
                extra_tags={
                    REPRODUCES_TAG: run_id,
                    DATA_MODE_TAG: options.data,
                    ENV_MODE_TAG: options.env,
                },
                run_extra={
                    "reproduces": run_id,
                    "data_mode": options.data,
                    "env_mode": options.env,
                },
                notebook_path=rec["code"]["document"].get("path"),
                extra_env=extra_env,
                progress_file=options.progress_file,
                what=f"run {run_id}",
                expected_failure=expected_failure(rec),
            )
            progress.write(f"comparing{of}")
            new = CapturedRun(
                run=client_for(tracking_uri).get_run(result.run_id),
                record=result.record,
                tracking_uri=tracking_uri,
            )
            report = compare.build_report(
                original,
                new,
                tolerances=options.tolerances,
                default_tolerance=options.default_tolerance,
                sanitizers=options.sanitizers,
                ignore_volatile=options.ignore_volatile,
                failure=result.error,
            )
            report["notes"].extend(notes)
            _compare_models(
                report,
                tracking_uri,
                original,
                new,
                options.default_tolerance,
                sample,
            )
            report["data_mode"] = options.data
            report["env_mode"] = options.env
            report["environment_build"] = built.to_json() if built else None
            report["pins"] = {uri: dict(pin) for uri, pin in pins.items()}
            names[result.run_id] = rerun_name(base, options.data, versions_read(report), of)
            runs.append((result, new, report))

    # The report told is the worst rerun's (the first of them): one rerun that reproduced
    # among others that did not is no reproduction.
    result, _new, report = max(runs, key=lambda r: _SEVERITY[r[2]["verdict"]])
    if len(runs) > 1:
        repeat = compare.compare_repeats(
            original,
            [r[1] for r in runs],
            tolerances=options.tolerances,
            default_tolerance=options.default_tolerance,
            sanitizers=options.sanitizers,
        )
        repeat["verdicts"] = [r[2]["verdict"] for r in runs]
        for _result, _run, each in runs:
            each["repeat"] = repeat
            each["notes"].append(compare.repeat_note(repeat))
    if model is not None:
        report["notes"].append(
            f"{model.uri} was logged by run {run_id}, which this rerun re-executed; the "
            f"verdict is written on the model version ({VERDICT_TAG}, {LAST_RERUN_TAG})."
        )
        failed = models.tag_verdict(model, report["verdict"], result.run_id, tracking_uri)
        if failed:
            report["notes"].append(failed)
    for each_result, _run, each in runs:
        if each is not report:
            _log_report(tracking_uri, None, each_result.run_id, each, names[each_result.run_id])
    # The original carries the verdict told (logged last: the newest of its reruns).
    _log_report(tracking_uri, original, result.run_id, report, names[result.run_id])
    progress.write("done")
    return RerunResult(
        report=report,
        rerun_run_id=result.run_id,
        output_path=result.output_path,
        original_run_id=run_id,
    )


_SEVERITY = {REPRODUCED: 0, DIFFERS: 1, FAILED: 2}


def _compare_models(
    report: dict[str, Any],
    uri: str,
    original: CapturedRun,
    rerun: CapturedRun,
    tolerance: float,
    sample: ModelSample | None = None,
) -> None:
    """The model section, when either run logged an MLflow model: a model that does not
    reproduce makes the verdict "differs (model)"."""
    from nbrepro.reproduce.compare.models import compare_models

    try:
        section = compare_models(client_for(uri), original.run, rerun.run, tolerance, sample, uri)
    except Exception as exc:  # e.g. a store without logged models (MLflow 2 servers)
        report["notes"].append(
            safe_message(f"the runs' models were not compared: {type(exc).__name__}: {exc}")
        )
        return
    if not section["compared"]:
        return
    report["sections"]["model"] = section
    for row in section["models"]:
        note = row.get("note") or (row.get("predictions") or {}).get("note")
        if note:
            report["notes"].append(f"model {row['name']!r}: {note}")
    if not section["same"]:
        report["differs"].append("model")
        if report["verdict"] == REPRODUCED:
            report["verdict"] = DIFFERS


def rerun_name(base: str, data_mode: str, versions: str, of: str = "") -> str:
    """A rerun's run name: what it re-executed and on which data ("rerun of baseline ·
    pinned v0", "rerun of baseline · latest v1 (2 of 3)")."""
    return f"rerun of {base} · {data_mode}{' ' + versions if versions else ''}{of}"


def versions_read(report: Mapping[str, Any]) -> str:
    """The versions the rerun read, as :func:`versions_label` says them."""
    tables = ((report.get("sections") or {}).get("data") or {}).get("tables") or []
    return versions_label(
        {t["uri"]: [r["version"] for r in t["rerun"]] for t in tables if t.get("rerun")}
    )


def _log_report(
    uri: str, original: CapturedRun | None, rerun_id: str, report: dict[str, Any], name: str
) -> None:
    from mlflow.entities import RunTag

    client = client_for(uri)
    files = {
        REPORT_JSON: record.dumps(report).encode("utf-8"),
        REPORT_TEXT: compare.render_text(report).encode("utf-8"),
    }
    # Its name completed with the versions it read (MLflow renames a run by this tag).
    log_bundle(
        client,
        rerun_id,
        LogBundle(tags={VERDICT_TAG: report["verdict"], MLFLOW_RUN_NAME_TAG: name}, files=files),
    )
    if original is None:
        return
    # The original carries its latest verdict, and its latest of each data mode, so a
    # list of runs needs one search.
    verdict = report["verdict"]
    tags = {LAST_VERDICT_TAG: verdict, LAST_RERUN_TAG: rerun_id}
    mode = report.get("data_mode")
    if mode in DATA_MODES:
        tags[LAST_VERDICT_OF_MODE_TAG.format(mode=mode)] = verdict
        tags[LAST_RERUN_OF_MODE_TAG.format(mode=mode)] = rerun_id
        tags[LAST_DATA_OF_MODE_TAG.format(mode=mode)] = versions_read(report)
    client.log_batch(original.run_id, tags=[RunTag(k, v) for k, v in tags.items()])


def _model_sample(path: str | None) -> ModelSample | None:
    """The ``--model-sample`` table, read; None without one."""
    if not path:
        return None
    from nbrepro.reproduce.compare.models import load_sample

    try:
        return load_sample(path)
    except ValueError as exc:
        raise RunNotUsable(f"--model-sample: {exc}") from None


def diff(
    run_a: str,
    run_b: str,
    tracking_uri: str,
    model_sample: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """The report comparing any two captured runs, their models too (as a rerun's
    report does)."""
    a = load_run(run_a, tracking_uri)
    b = load_run(run_b, tracking_uri)
    sample = _model_sample(model_sample)
    report = compare.build_report(a, b, **kwargs)
    _compare_models(report, tracking_uri, a, b, kwargs.get("default_tolerance", 0.0), sample)
    return report


__all__ = [
    "DataUnavailable",
    "PinnedDataUnavailable",
    "RerunOptions",
    "RerunResult",
    "diff",
    "rerun",
]
