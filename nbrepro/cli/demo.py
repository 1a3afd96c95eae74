"""``nbrepro demo``: the quick start, end to end on the embedded default store."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from nbrepro.errors import NbreproError
from nbrepro.record.tags import NOTEBOOK_TAG

DEMO_NOTEBOOK = "demo.ipynb"


def write_demo_table(path: Path) -> list[int]:
    """A small Delta table with two versions: the initial load and a nightly append."""
    import numpy as np
    import pandas as pd
    from deltalake import DeltaTable, write_deltalake

    rng = np.random.default_rng(0)

    def batch(n: int, start: int) -> pd.DataFrame:
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        y = 3.0 * x1 - 2.0 * x2 + 0.5 + rng.normal(scale=0.1, size=n)
        return pd.DataFrame({"id": np.arange(start, start + n), "x1": x1, "x2": x2, "y": y})

    if path.exists():
        shutil.rmtree(path)
    write_deltalake(str(path), batch(200, 0))
    write_deltalake(str(path), batch(50, 200), mode="append")
    return [0, DeltaTable(str(path)).version()]


def run_demo(workdir: str | os.PathLike[str]) -> str:
    """Write the table, execute the demo notebook in a real kernel, describe the run."""
    import papermill as pm

    from nbrepro.store.tracking import client_for, display_uri, resolve_tracking_uri

    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    versions = write_demo_table(root / "data" / "measurements")
    notebook = root / DEMO_NOTEBOOK
    source = resources.files("nbrepro.demo_files").joinpath(DEMO_NOTEBOOK)
    notebook.write_text(source.read_text("utf-8"), "utf-8")
    executed = root / "demo.executed.ipynb"
    # The kernel finds its notebook through JPY_SESSION_NAME, as under Jupyter.
    previous = os.environ.get("JPY_SESSION_NAME")
    os.environ["JPY_SESSION_NAME"] = str(notebook)
    try:
        pm.execute_notebook(str(notebook), str(executed), cwd=str(root), progress_bar=False)
    except Exception as exc:
        raise NbreproError(f"the demo notebook failed: {exc}") from exc
    finally:
        if previous is None:
            os.environ.pop("JPY_SESSION_NAME", None)
        else:
            os.environ["JPY_SESSION_NAME"] = previous

    uri = resolve_tracking_uri()
    client = client_for(uri)
    exp = client.get_experiment_by_name("nbrepro")
    runs = client.search_runs(
        [exp.experiment_id] if exp else [],
        filter_string=f"tags.`{NOTEBOOK_TAG}` = '{notebook}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise NbreproError(f"the demo ran but no captured run was found in {display_uri(uri)}")
    run = runs[0]
    from nbrepro import record

    rec = record.loads(
        Path(client.download_artifacts(run.info.run_id, record.RECORD_ARTIFACT)).read_text("utf-8")
    )
    lines = [
        f"Demo Delta table: {root / 'data' / 'measurements'} (versions {versions[0]}..{versions[-1]})",
        f"Captured run: {run.info.run_id} ({run.info.run_name}, {run.info.status})",
        f"  metrics: {dict(run.data.metrics)}  params: {dict(run.data.params)}",
    ]
    for read in rec["data"]["reads"]:
        lines.append(
            f"  Delta read: {read['uri']} @ version {read['version']} (table id {read['table_id']})"
        )
    lines.append(
        f"  executed cells captured: {len(rec['code']['cells'])}; hidden state: "
        f"{'yes' if rec['code']['hidden_state']['hidden'] else 'none'}"
    )
    lines.append(f"Stored in: {display_uri(uri)}")
    lines.append(f"Artifacts: {run.info.artifact_uri}")
    lines.append(f"Re-execute it pinned to its data: nbrepro rerun {run.info.run_id}")
    lines.append("Browse it: nbrepro ui   (MLflow UI on 127.0.0.1:5000)")
    lines.append(f"Executed notebook: {executed}")
    return "\n".join(lines)
