"""``nbrepro run``: execute a notebook with papermill, capture active, no magic needed.

The parent process opens the MLflow run; the kernel joins it through
``MLFLOW_RUN_ID`` (so the notebook's own ``mlflow.log_*`` calls land in it) and
loads nbrepro from an injected, tagged first cell. The kernel writes its
environment snapshot and a stream of Delta reads to a capture folder, which
survives a failing cell; the parent then records the executed notebook as the
document and ends the run.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from nbrepro import capture, environment, record
from nbrepro.errors import NbreproError, NotebookExecutionError
from nbrepro.execute import INJECTED_TAG, run_papermill
from nbrepro.history import executed_from_notebook
from nbrepro.paths import CAPTURE_DIR_ENV, PINS_ENV
from nbrepro.session import RunOptions, RunSession
from nbrepro.tracking import display_uri


class ExecutionFailed(NbreproError):
    """The notebook could not run to its end: kernel died, timeout, missing kernel."""


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
            "delta_reads": [
                {"uri": r["uri"], "version": r["version"], "table_id": r.get("table_id")}
                for r in self.record["data"]["reads"]
            ],
            "hidden_state": self.record["code"]["hidden_state"]["hidden"],
            "error": None
            if self.error is None
            else {
                "cell_index": self.error.cell_index,
                "execution_count": self.error.execution_count,
                "ename": self.error.ename,
                "evalue": self.error.evalue,
            },
        }


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def inject_capture_cell(
    nb: nbformat.NotebookNode, pins: Mapping[str, Any] | None = None
) -> nbformat.NotebookNode:
    """Put the tagged cell that loads nbrepro first, as papermill shows its injected cells.

    With pins, the cell lists them: the output notebook shows which Delta versions
    the run was held to (the kernel reads them from ``NBREPRO_PINS``).
    """
    lines = ["# Injected by nbrepro: capture this run"]
    if pins:
        lines.append("# Delta tables read without a version are pinned to the original's:")
        lines.extend(
            f"#   {uri} -> version {pin['version']} (table id {pin.get('table_id')})"
            for uri, pin in sorted(pins.items())
        )
    lines.append("%load_ext nbrepro")
    cell = nbformat.v4.new_code_cell(source="\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(0, cell)
    return nb


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
        key = (kind, event.get("uri"), event.get("table_id"), event.get("version"))
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
) -> HeadlessResult:
    """Execute ``notebook`` with papermill and capture it as one MLflow run.

    Args:
        cwd: the kernel's working directory (default: the notebook's folder).
        pins: Delta pins ``{uri: {"version", "table_id"}}`` applied in the kernel.
        extra_tags: more run tags (a rerun's ``nbrepro.reproduces``).
        run_extra: more fields for the record's ``run`` section.
        notebook_path: the path to record as the document's (default: ``notebook``).
        extra_env: more environment variables for the kernel (e.g. ``JUPYTER_PATH``).
        progress_file: where to append a progress line per executed cell.

    Raises:
        KeyboardInterrupt: after recording the run as ``KILLED``, when the execution
            was interrupted (a cancelled rerun job sends SIGTERM, which the CLI turns
            into an interrupt so the kernel is shut down and the run ended).
    """
    src = Path(notebook).expanduser().resolve()
    if not src.is_file():
        raise NbreproError(f"notebook not found: {notebook}")
    try:
        nb = nbformat.read(str(src), as_version=4)
    except (ValueError, OSError) as exc:
        raise NbreproError(f"{src} is not a readable notebook: {exc}") from exc

    capture_id = record.new_capture_id()
    session = RunSession(
        RunOptions(
            experiment=experiment,
            run_name=run_name or src.stem,
            tracking_uri=tracking_uri,
            tags={
                "nbrepro.parameters": json.dumps(dict(parameters or {}), default=str)[:5000],
                **(extra_tags or {}),
            },
        ),
        capture_id,
    )
    session.start()
    out_path = Path(output).expanduser().resolve() if output else None

    with tempfile.TemporaryDirectory(prefix="nbrepro-run-") as tmp:
        folder = Path(tmp)
        injected = folder / src.name
        nbformat.write(inject_capture_cell(nb, pins), str(injected))
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
            **(extra_env or {}),
        }
        error: NotebookExecutionError | None = None
        failure: str | None = None
        interrupted = False
        with _environ(env):
            try:
                error = run_papermill(
                    injected,
                    target,
                    parameters=parameters,
                    cwd=Path(cwd) if cwd else src.parent,
                    kernel_name=kernel_name,
                    progress=progress,
                    timeout=timeout,
                    progress_file=progress_file,
                )
            except KeyboardInterrupt:
                # Re-raised once the run is recorded: an interrupted run is KILLED in the
                # store, not left RUNNING forever.
                interrupted = True
                failure = "KeyboardInterrupt: the execution was interrupted"
            except Exception as exc:  # kernel died, timeout, missing kernel
                failure = f"{type(exc).__name__}: {exc}"
        executed_nb = _read_output(target)
        status = "FINISHED" if error is None and failure is None else "FAILED"
        if interrupted:
            status = "KILLED"
        result = _record_run(
            session,
            notebook_path or str(src),
            executed_nb,
            folder,
            status,
            error,
            failure,
            dict(run_extra or {}),
        )
        result.output_path = str(target) if out_path else ""
        if interrupted:
            raise KeyboardInterrupt
        if failure is not None and error is None:
            raise ExecutionFailed(
                f"notebook run failed: {failure} (run {result.run_id} recorded as FAILED)"
            )
        return result


def _read_output(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return None


def _record_run(
    session: RunSession,
    src: str,
    executed_nb: nbformat.NotebookNode | None,
    folder: Path,
    status: str,
    error: NotebookExecutionError | None,
    failure: str | None,
    run_extra: dict[str, Any],
) -> HeadlessResult:
    warnings: list[str] = []
    if executed_nb is not None:
        executed_nb.cells = [
            c
            for c in executed_nb.cells
            if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])
        ]
        executed = executed_from_notebook(executed_nb)
    else:
        executed = []
        warnings.append("the executed notebook could not be read back")
    env_file = folder / "environment.json"
    env = json.loads(env_file.read_text("utf-8")) if env_file.exists() else None
    if env is None:
        warnings.append("the kernel did not report its environment; this process's was recorded")
        env = environment.capture_environment()
    events = read_delta_events(folder)
    reads: list[Any] = [
        {k: v for k, v in e.items() if k != "kind"} for e in events if e["kind"] == "read"
    ]
    writes = [{k: v for k, v in e.items() if k != "kind"} for e in events if e["kind"] == "write"]
    if reads:
        from nbrepro.delta import DeltaWatcher

        reads = list(DeltaWatcher().finalize(reads))
    err = None
    if error is not None:
        err = {"ename": error.ename, "evalue": error.evalue, "cell_index": error.cell_index}
    elif failure is not None:
        err = {"ename": "ExecutionFailure", "evalue": failure, "cell_index": None}
    inp = capture.CaptureInput(
        capture_id=session.capture_id,
        mode="headless",
        run={**session.run_info(status, err), **run_extra},
        executed=executed,
        notebook_path=src,
        document=executed_nb,
        delta_reads=reads,
        delta_writes=writes,
        warnings=warnings,
        environment=env,
    )
    cap = capture.build(inp)
    fin = session.finish(cap.bundle, status)
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
