"""``nbrepro run``: execute a notebook with papermill, capture active, no magic needed.

The parent process opens the MLflow run; the kernel joins it through
``MLFLOW_RUN_ID`` (so the notebook's own ``mlflow.log_*`` calls land in it) and
loads nbrepro from its command line (see :mod:`nbrepro.reproduce.execute`). The kernel writes
its environment snapshot and a stream of Delta reads to a capture folder, which
survives a failing cell or a dead kernel; the parent then records the executed
notebook as the document and ends the run.

papermill parameters are logged as MLflow params (the notebook's own ``log_param``
of the same name wins) and kept in the record, so a rerun replays them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from nbrepro import paths, record
from nbrepro.capture import assemble, environment, htmlpage, options
from nbrepro.capture.environment import DEFAULT_HASH_SEED, HASH_SEED_ENV
from nbrepro.capture.history import ExecutedCell, executed_from_notebook
from nbrepro.errors import KernelNotFound, NotebookExecutionError
from nbrepro.paths import CAPTURE_DIR_ENV, PINS_ENV
from nbrepro.record.tags import INJECTED_TAG
from nbrepro.redact import MIN_SECRET_LENGTH, REDACTED, is_secret_name, keyed_digest
from nbrepro.reproduce.execute import Execution, error_at, run_papermill, user_cells
from nbrepro.reproduce.notebook_file import check_output, read_notebook
from nbrepro.store.session import RunOptions, RunSession
from nbrepro.store.tracking import display_uri

# MLflow refuses longer param values.
MAX_PARAM_CHARS = 6000


class RunInterrupted(KeyboardInterrupt):
    """The execution was interrupted; its run was recorded as ``KILLED`` (``run_id``)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass
class HeadlessResult:
    run_id: str
    experiment_id: str
    experiment_name: str
    status: str
    tracking_uri: str
    output_path: str
    record: dict[str, Any]
    error: NotebookExecutionError | None = None
    warning: str | None = None
    spooled_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "experiment_name": self.experiment_name,
            "status": self.status,
            "tracking_uri": self.tracking_uri,
            "output_path": self.output_path,
            "spooled_to": self.spooled_to,
            "warning": self.warning,
            "kernel": (self.record["environment"].get("kernel") or {}).get("name"),
            "parameters": self.record["run"].get("parameters") or {},
            "delta_reads": [
                {"uri": r["uri"], "version": r["version"], "table_id": r.get("table_id")}
                for r in self.record["data"]["reads"]
            ],
            "hidden_state": self.record["code"]["hidden_state"]["hidden"],
            "error": None if self.error is None else error_json(self.error),
        }


def error_json(error: NotebookExecutionError) -> dict[str, Any]:
    """A failing cell as ``--json`` and the report show it."""
    return {
        "cell_index": error.cell_index,
        "execution_count": error.execution_count,
        "original_execution_count": error.original_execution_count,
        "cell": error.where,
        "ename": error.ename,
        "evalue": error.evalue,
    }


def add_pins_note(
    nb: nbformat.NotebookNode, pins: Mapping[str, Any] | None
) -> nbformat.NotebookNode:
    """Put a tagged note listing the Delta pins first, as papermill shows its parameters.

    A markdown cell: it runs nothing and takes no execution count, so the user's cells
    keep their numbers (the kernel reads the pins from ``NBREPRO_PINS``).
    """
    if not pins:
        return nb
    lines = ["**nbrepro**: Delta tables read without a version are pinned to the original's:", ""]
    lines.extend(
        f"- `{uri}` -> version {pin['version']} (table id `{pin.get('table_id')}`)"
        for uri, pin in sorted(pins.items())
    )
    cell = nbformat.v4.new_markdown_cell(source="\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(0, cell)
    return nb


def require_kernel(nb: nbformat.NotebookNode, kernel_name: str | None, what: str) -> str:
    """The kernel to run ``nb`` with, checked to exist here before anything starts.

    Raises:
        KernelNotFound: no kernel named, or the named one is not installed; the
            message lists the kernels there are and the way out (``-k NAME``).
    """
    spec = nb.metadata.get("kernelspec") or {}
    name = kernel_name or spec.get("name")
    if name and environment.kernel_record(name)["installed"]:
        return str(name)
    installed = environment.installed_kernels()
    available = ", ".join(f"{k} ({v})" for k, v in sorted(installed.items())) or "none"
    if not name:
        raise KernelNotFound(
            f"{what} names no kernel (its metadata has no kernelspec): pass -k NAME. "
            f"Kernels installed here: {available}."
        )
    shown = spec.get("display_name") if not kernel_name else None
    label = f"{name!r}" + (f" ({shown})" if shown and shown != name else "")
    raise KernelNotFound(
        f"{what} runs on the kernel {label}, which is not installed here. "
        f"Kernels installed here: {available}. Pass -k NAME to run it on one of them."
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def redacted_parameter(value: Any) -> str:
    """A secret-named parameter as logged: ``[REDACTED:<keyed digest>]``.

    The digest (see :func:`nbrepro.redact.keyed_digest`) tells two values apart on this
    machine without revealing either: a changed ``max_tokens`` still shows as a change.
    """
    return f"{REDACTED[:-1]}:{keyed_digest(_text(value))}]"


def is_redacted_parameter(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REDACTED[:-1])


def parameter_params(parameters: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """MLflow params for papermill parameters, and the secret values among them.

    A parameter whose name looks secret (``api_token``) is logged redacted (see
    :func:`redacted_parameter`) and its value is redacted wherever it appears in the
    capture. A value longer than MLflow takes is cut, with a digest of the whole, so two
    long values that differ past the cut still differ.
    """
    return _params_from(parameters, recorded_parameters(parameters))


def _params_from(
    parameters: Mapping[str, Any], recorded: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """:func:`parameter_params`, from the values :func:`recorded_parameters` made of them."""
    params: dict[str, str] = {}
    secrets: list[str] = []
    for name, value in parameters.items():
        text = _text(recorded[name])
        if is_secret_name(name) and len(_text(value)) >= MIN_SECRET_LENGTH:
            secrets.append(_text(value))
        if len(text) > MAX_PARAM_CHARS:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
            text = f"{text[: MAX_PARAM_CHARS - 40]}... (sha256 {digest})"
        params[name] = text
    return params, secrets


@dataclass
class Parameters:
    """papermill parameters as the run logs them (params), records them, and redacts."""

    given: Mapping[str, Any]

    def __post_init__(self) -> None:
        self.recorded = recorded_parameters(self.given)  # one keyed digest per secret
        self.params, self.secrets = _params_from(self.given, self.recorded)


def recorded_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the record keeps them (typed, so a rerun replays them as given)."""
    return {
        name: redacted_parameter(value) if is_secret_name(name) else value
        for name, value in parameters.items()
    }


def read_delta_events(folder: Path) -> list[dict[str, Any]]:
    """Delta reads streamed by the kernel, de-duplicated, last state of each kept."""
    path = folder / "data.jsonl"
    if not path.exists():
        return []
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        kind = event.pop("kind", "read")
        key = (
            kind,
            event.get("uri"),
            event.get("table_id"),
            event.get("version"),
            event.get("note") or event.get("remote"),
        )
        by_key[key] = {"kind": kind, **event}
    return list(by_key.values())


def run_notebook(
    notebook: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    output: str | Path | None = None,
    tracking_uri: str | None = None,
    kernel_name: str | None = None,
    progress: bool = False,
    timeout: int | None = None,
    cwd: str | Path | None = None,
    pins: Mapping[str, Any] | None = None,
    extra_tags: Mapping[str, str] | None = None,
    run_extra: Mapping[str, Any] | None = None,
    notebook_path: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    progress_file: str | Path | None = None,
    what: str | None = None,
    expected_failure: int | None = None,
) -> HeadlessResult:
    """Execute ``notebook`` with papermill and capture it as one MLflow run.

    A failing cell, a dead kernel or a timeout is recorded (the run ends ``FAILED``)
    and returned in ``error``; only input problems raise before a run is opened.

    Args:
        cwd: the kernel's working directory (default: the notebook's folder).
        pins: Delta pins ``{uri: {"version", "table_id"}}`` applied in the kernel.
        extra_tags: more run tags (a rerun's ``nbrepro.reproduces``).
        run_extra: more fields for the record's ``run`` section.
        notebook_path: the path to record as the document's (default: ``notebook``).
        extra_env: more environment variables for the kernel (e.g. ``JUPYTER_PATH``).
        progress_file: where to append a progress line per executed cell.
        what: how error messages name the notebook (default: its path).
        expected_failure: a rerun of a failed run: the original's failing execution
            (its position), which fails this run too if it raises again.

    Raises:
        NotebookUnusable: the notebook is missing, unreadable or not a valid notebook.
        KernelNotFound: its kernel is not installed here (or none is named).
        RunInterrupted: a ``KeyboardInterrupt``, after recording the run as ``KILLED``,
            when the execution was interrupted (a cancelled rerun job sends SIGTERM,
            which the CLI turns into an interrupt so the kernel is shut down and the
            run ended).
    """
    src = Path(notebook).expanduser().resolve()
    nb = read_notebook(src, str(notebook))
    out_path = Path(output).expanduser().resolve() if output else None
    if out_path is not None:
        check_output(out_path, str(output))
    with paths.environ(dict(extra_env or {})):  # JUPYTER_PATH may name a rebuilt env's kernel
        kernel = require_kernel(nb, kernel_name, what or str(notebook))
    parameters = dict(parameters or {})
    # The notebook's %%repro cells say what its run is (the command line wins).
    cell_options = options.from_cells(c.source for c in nb.cells if c.cell_type == "code")

    capture_id = record.new_capture_id()
    session = RunSession(
        RunOptions(
            experiment=experiment or cell_options.experiment,
            run_name=run_name or cell_options.name or src.stem,
            tracking_uri=tracking_uri,
            tags={**cell_options.tags, **(extra_tags or {})},
            seed=cell_options.seed,
        ),
        capture_id,
    )
    # Digests of secret-named parameters need this machine's key: made before the run is.
    logged = Parameters(parameters)
    session.start()

    with tempfile.TemporaryDirectory(prefix="nbrepro-run-") as tmp:
        folder = Path(tmp)
        injected = folder / src.name
        nbformat.write(add_pins_note(nb, pins), str(injected))
        target = out_path or folder / f"{src.stem}.output.ipynb"
        kernel_uri = (
            session.entry.local_tracking_uri
            if session.offline and session.entry
            else session.tracking_uri
        )
        env = {
            CAPTURE_DIR_ENV: str(folder),
            "MLFLOW_RUN_ID": session.run_id,
            "MLFLOW_TRACKING_URI": kernel_uri,
            "MLFLOW_EXPERIMENT_ID": session.experiment_id,
            "JPY_SESSION_NAME": notebook_path or str(src),
            PINS_ENV: json.dumps(dict(pins or {})),
            # Fixed (recorded with the run, restored by rerun): sets of strings, and what
            # is built from their order, come out the same run after run.
            HASH_SEED_ENV: os.environ.get(HASH_SEED_ENV) or DEFAULT_HASH_SEED,
            **(extra_env or {}),
        }
        seed = environment.seed_record(env[HASH_SEED_ENV].strip())
        # The run's HTML is rendered here once the kernel is done: the renderer is made
        # ready meanwhile, while this process mostly waits on the kernel. Not when the
        # kernel's Jupyter paths are not this process's (a rebuilt env's): nbconvert
        # would take its templates from there. papermill is imported here first.
        if not any(key.startswith("JUPYTER") for key in (extra_env or {})):
            import papermill  # noqa: F401

            htmlpage.warm_renderer()
        with paths.environ(env):
            execution = run_papermill(
                injected,
                target,
                parameters=parameters,
                cwd=Path(cwd) if cwd else src.parent,
                kernel_name=kernel,
                progress=progress,
                timeout=timeout,
                progress_file=progress_file,
            )
        executed_nb = _read_output(target)
        run_extra = {
            **dict(run_extra or {}),
            "parameters": logged.recorded,
            "timeout": timeout,
        }
        result = _record_run(
            session,
            notebook_path or str(src),
            executed_nb,
            folder,
            execution,
            kernel,
            logged,
            run_extra,
            cell_options.notes,
            expected_failure,
            seed,
        )
        result.output_path = str(target) if out_path else ""
        if execution.interrupted:
            raise RunInterrupted(result.run_id)
        return result


def _read_output(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return None


def terminal_error(
    executed_nb: nbformat.NotebookNode | None,
    executed: list[ExecutedCell],
    execution: Execution,
    expected_failure: int | None = None,
) -> tuple[NotebookExecutionError | None, int | None]:
    """The error that ended the run, and its position in the executed sequence.

    A dead kernel or a timeout ends it in the cell that was running. Else the first
    cell that raised without being expected to. Else, in a rerun of a run that failed
    (``expected_failure``: the original's failing execution), that cell raising again:
    the replay tags it ``raises-exception`` so the rerun runs up to it, and it ended the
    original, so it ends this run too. Any other tagged cell that raises does not.
    """
    cells = user_cells(executed_nb) if executed_nb is not None else []
    position_of = {cell.doc_index: k for k, cell in enumerate(executed)}
    if execution.failure is not None:
        name = execution.failure_name or "ExecutionFailure"
        message = execution.failure.partition(": ")[2] or execution.failure
        index = execution.failure_cell
        if index is None or index >= len(cells):
            return NotebookExecutionError(-1, None, "", name, message), None
        error = error_at(cells[index], index, {"ename": name, "evalue": message})
        cell = executed[position_of[index]] if index in position_of else None
        if cell is not None and cell.error is None:
            cell.error = {"ename": name, "evalue": message}
        return error, position_of.get(index)
    if execution.error is not None:
        return execution.error, position_of.get(execution.error.cell_index)
    if expected_failure is None:
        return None, None
    for k, cell in enumerate(executed):
        # A replay from before replays carried positions: its cells are in order.
        origin = cell.origin if cell.origin is not None else k
        index = cell.doc_index if cell.doc_index is not None else -1
        if origin == expected_failure and cell.error is not None and 0 <= index < len(cells):
            return error_at(cells[index], index, cell.error), k
    return None, None


def _params_to_log(
    session: RunSession, params: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """papermill parameters as params, without those the notebook logged itself."""
    params = dict(params)
    notes = []
    already = session.logged_params()
    for name in sorted(set(params) & set(already)):
        if already[name] != params[name]:
            notes.append(
                f"parameter {name!r} = {params[name]!r} was not logged as a param: "
                f"the notebook logged {name!r} = {already[name]!r} itself"
            )
        del params[name]
    return params, notes


def _record_run(
    session: RunSession,
    src: str,
    executed_nb: nbformat.NotebookNode | None,
    folder: Path,
    execution: Execution,
    kernel: str,
    parameters: Parameters,
    run_extra: dict[str, Any],
    notes: list[str],
    expected_failure: int | None,
    hash_seed: dict[str, Any],
) -> HeadlessResult:
    warnings: list[str] = list(notes)
    env_file = folder / "environment.json"
    env = json.loads(env_file.read_text("utf-8")) if env_file.exists() else None
    if env is None:
        warnings.append("the kernel did not report its environment; this process's was recorded")
        env = environment.capture_environment()
        # The kernel's hashing is what nbrepro started it with, not this process's.
        env["python"]["hash_seed"] = hash_seed

    kernel_rec = environment.kernel_record(
        kernel, interpreter=(env.get("python") or {}).get("executable")
    )
    env["kernel"] = kernel_rec
    if executed_nb is not None:
        executed_nb.cells = user_cells(executed_nb)
        if not executed_nb.metadata.get("kernelspec"):
            # Run with -k on a notebook that names no kernel: the document says what ran.
            executed_nb.metadata["kernelspec"] = assemble.kernelspec_of(kernel_rec)
        executed = executed_from_notebook(executed_nb)
    else:
        executed = []
        warnings.append("the executed notebook could not be read back")
    error, position = terminal_error(executed_nb, executed, execution, expected_failure)
    if execution.interrupted:
        status = "KILLED"
    elif error is not None:
        status = "FAILED"
    else:
        status = "FINISHED"
    events = read_delta_events(folder)
    reads: list[Any] = [
        {k: v for k, v in e.items() if k != "kind"} for e in events if e["kind"] == "read"
    ]
    writes = [{k: v for k, v in e.items() if k != "kind"} for e in events if e["kind"] == "write"]
    delta_notes: list[str] = [e["note"] for e in events if e["kind"] == "note"]
    remotes = [e["remote"] for e in events if e["kind"] == "spark_remote"]
    if reads:
        from nbrepro.capture.delta.tables import with_commit_timestamps

        reads = with_commit_timestamps(reads, delta_notes)
    err = None
    if error is not None:
        err = {
            "ename": error.ename,
            "evalue": error.evalue,
            "cell_index": error.cell_index if error.cell_index >= 0 else None,
            "execution_count": error.execution_count,
            "position": position,
        }
    params, notes = _params_to_log(session, parameters.params)
    warnings.extend(notes)
    inp = assemble.CaptureInput(
        capture_id=session.capture_id,
        mode="headless",
        run={**session.run_info(status, err), **run_extra},
        executed=executed,
        notebook_path=src,
        document=executed_nb,
        delta_reads=reads,
        delta_writes=writes,
        delta_notes=delta_notes,
        spark_remotes=remotes,
        warnings=warnings,
        environment=env,
        params=params,
        extra_secrets=parameters.secrets,
    )
    cap = assemble.build(inp)
    fin = session.finish(cap.bundle, status)
    session.close()
    return HeadlessResult(
        run_id=session.run_id,
        experiment_id=session.experiment_id,
        experiment_name=session.experiment_name,
        status=status,
        tracking_uri=display_uri(session.tracking_uri),
        output_path="",
        record=cap.record,
        error=error,
        warning=fin.warning,
        spooled_to=str(fin.spool_entry.folder) if fin.spool_entry else None,
    )
