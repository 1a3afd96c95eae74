"""Small helpers shared by tests (not fixtures)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """Write a notebook whose code cells have the given (id, source)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for cell_id, source in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.id = cell_id
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def run_notebook_cells(
    kernel_factory: Any, folder: Path, name: str, cells: list[tuple[str, str]]
) -> Any:
    """Write the notebook ``name`` of ``cells`` and run them in order in a real kernel started
    in ``folder`` for that notebook; each cell's reply, by cell id."""
    nb = write_notebook(folder / name, cells)
    k = kernel_factory(cwd=folder, env={"JPY_SESSION_NAME": str(nb)})
    return {cell_id: k.ok(source, cell_id) for cell_id, source in cells}


def api_check(body: Any, definition: str) -> Any:
    """Validate a body against one $defs entry of nbrepro's REST API schema."""
    _api_validator(definition).validate(body)
    return body


@functools.cache
def _api_validator(definition: str) -> Any:
    # Made once per definition: checking the schema itself on each call costs 0.4 s.
    import jsonschema

    api = json.loads(resources.files("nbrepro.schema").joinpath("api-1.schema.json").read_text())
    schema = {**api, "$ref": f"#/$defs/{definition}"}
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def latest_run(tracking_uri: str, experiment: str = "nbrepro") -> Any:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r} in {tracking_uri}"
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])
    assert runs, "no runs"
    return runs[0]


def run_record(tracking_uri: str, run_id: str) -> dict[str, Any]:
    from mlflow import MlflowClient

    from nbrepro import record

    client = MlflowClient(tracking_uri)
    path = client.download_artifacts(run_id, record.RECORD_ARTIFACT)
    return record.loads(Path(path).read_text("utf-8"))


def all_artifact_text(tracking_uri: str, run_id: str, dst: Path) -> dict[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    root = Path(client.download_artifacts(run_id, "", str(dst)))
    return {
        str(p.relative_to(root)): p.read_text("utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file()
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


WAIT_UPLOADS = "from nbrepro.store.tracking import wait_for_uploads\nassert wait_for_uploads(120)"


def process_gone(pid: int, within: float) -> bool:
    """Whether process ``pid`` ended (or is a zombie) within ``within`` seconds."""
    import psutil

    deadline = time.time() + within
    while time.time() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def notebook_corpus() -> list[Path]:
    """Notebooks from papermill's and nbdime's test suites (shipped in their wheels),
    nbclient's (copied into tests/notebooks) and hand-made edge cases."""
    import nbdime
    import papermill

    sources = [
        Path(papermill.__file__).parent / "tests" / "notebooks",
        Path(nbdime.__file__).parent / "tests" / "files",
        Path(__file__).parent / "notebooks",
    ]
    return sorted(p for root in sources for p in root.rglob("*.ipynb"))


def store_kernel(kernel_factory: Any, uri: str, home: Path, timeout: float, *setup: str) -> Any:
    """A kernel with nbrepro loaded, capturing to ``uri`` with its spool in ``home`` and
    a store timeout of ``timeout`` s; ``setup`` lines run after ``%load_ext``."""
    k = kernel_factory(
        env={
            "MLFLOW_TRACKING_URI": uri,
            "NBREPRO_HOME": str(home),
            "NBREPRO_STORE_TIMEOUT": str(timeout),
        }
    )
    k.ok("\n".join(("%load_ext nbrepro", *setup)))
    return k


def nbrepro_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m nbrepro.cli ARGS`` as a user runs it, in this test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "nbrepro.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=600,
    )


def rerun_json(*args: str) -> tuple[int, dict[str, Any]]:
    """``nbrepro rerun ARGS --json``: its exit code and its one JSON object."""
    res = nbrepro_cli("rerun", *args, "--json")
    assert res.stdout.strip(), res.stderr
    return res.returncode, json.loads(res.stdout)


def sync_spool(home: Path, uri: str) -> dict[str, Any]:
    """``nbrepro sync --json`` of the spool in ``home`` to ``uri``: its JSON."""
    env = {**os.environ, "NBREPRO_HOME": str(home), "MLFLOW_TRACKING_URI": uri}
    res = subprocess.run(
        [sys.executable, "-m", "nbrepro.cli", "sync", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "View run" not in res.stdout + res.stderr
    return dict(json.loads(res.stdout))
