"""The model section of a report: the MLflow models two runs logged (any flavor, through
``log_model`` or autolog), paired by name, compared by what makes them the same model.

Same flavors, signature and pinned requirements, and the same predictions on the original
model's input example (within the metric tolerance; labels and other non-numbers exactly).
Byte-identical files are noted, not required: a pickle of an equal model may differ in its
bytes. A model one run logged and the other did not differs.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbrepro.redact import safe_message

_log = logging.getLogger(__name__)

# Files of a model directory that name its run, its time or its id: not its content.
_NOT_CONTENT = {"MLmodel"}


def logged_models(client: Any, run: Any) -> dict[str, Any]:
    """The models ``run`` logged, by name (the newest of a name)."""
    found = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
    )
    by_name: dict[str, Any] = {}
    for model in sorted(found, key=lambda m: m.creation_timestamp or 0):
        by_name[model.name] = model
    return by_name


@dataclass(frozen=True)
class ModelSample:
    """A table the user names for the models' predictions (``--model-sample FILE``)."""

    frame: Any  # a pandas DataFrame
    name: str  # the file's name, as the report says it


def load_sample(path: str) -> ModelSample:
    """Read ``path`` (CSV, Parquet or JSON) as a :class:`ModelSample`.

    Raises:
        ValueError: the file cannot be read as a table, or has no rows.
    """
    import pandas as pd

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".json", ".jsonl"):
            frame = pd.read_json(path, lines=suffix == ".jsonl")
        else:
            frame = pd.read_csv(path)
    except Exception as exc:
        raise ValueError(
            f"{path} could not be read as a table: {type(exc).__name__}: {exc}"
        ) from exc
    if len(frame) == 0:
        raise ValueError(f"{path} has no rows to predict on")
    return ModelSample(frame, Path(path).name)


def compare_models(
    client: Any,
    original: Any,
    rerun: Any,
    tolerance: float = 0.0,
    sample: ModelSample | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """The ``model`` section: ``{"same", "compared", "models": [...]}``; predictions on
    ``sample`` instead of each model's input example.
    ``tracking_uri``: the store the models are read from (the client's; MLflow's global
    one otherwise, which a CLI process may not have set)."""
    a, b = logged_models(client, original), logged_models(client, rerun)
    rows = []
    for name in sorted(a.keys() | b.keys()):
        if name not in a or name not in b:
            rows.append(
                {
                    "name": name,
                    "same": False,
                    "note": f"logged only by the {'rerun' if name not in a else 'original'}",
                }
            )
            continue
        rows.append(_compare_one(name, a[name], b[name], tolerance, sample, tracking_uri))
    return {"same": all(r["same"] for r in rows), "compared": len(rows), "models": rows}


def _compare_one(
    name: str,
    a: Any,
    b: Any,
    tolerance: float,
    sample: ModelSample | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    import mlflow
    from mlflow.models import Model

    row: dict[str, Any] = {"name": name, "original": a.model_id, "rerun": b.model_id}
    with tempfile.TemporaryDirectory(prefix="nbrepro-models-") as tmp:
        try:
            pa, pb = (
                Path(
                    # From the model's own artifact location: its models:/ URI is
                    # looked up through MLflow's global tracking URI, whatever is passed.
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=m.artifact_location,
                        dst_path=f"{tmp}/{side}",
                        tracking_uri=tracking_uri,
                    )
                )
                for m, side in ((a, "a"), (b, "b"))
            )
            ma, mb = Model.load(str(pa)), Model.load(str(pb))
        except Exception as exc:  # a model whose files cannot be read differs: unknown
            return {
                **row,
                "same": False,
                "note": safe_message(f"could not read the models: {type(exc).__name__}: {exc}"),
            }
        row["flavors"] = _same(sorted(ma.flavors), sorted(mb.flavors))
        row["signature"] = _same(_signature(ma), _signature(mb))
        row["requirements"] = _same(_requirements(pa), _requirements(pb))
        row["bytes_identical"] = _digests(pa) == _digests(pb)
        row["predictions"] = _predictions(ma, pa, pb, tolerance, sample)
    parts = ("flavors", "signature", "requirements")
    row["same"] = all(row[p]["same"] for p in parts) and row["predictions"]["same"] is not False
    if row["same"] and row["predictions"]["same"] is None and not row["bytes_identical"]:
        # Nothing shows the two are the same model: never called the same unseen.
        row["same"] = False
        row["note"] = (
            "not shown to be the same model: its predictions could not be compared "
            f"({row['predictions']['note']}) and its files differ"
        )
    return row


def _same(a: Any, b: Any) -> dict[str, Any]:
    return {"same": a == b, "original": a, "rerun": b}


def _signature(model: Any) -> Any:
    return model.signature.to_dict() if model.signature is not None else None


def _requirements(folder: Path) -> list[str] | None:
    path = folder / "requirements.txt"
    if not path.is_file():
        return None
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in _NOT_CONTENT
    }


def _predictions(
    model: Any,
    pa: Path,
    pb: Path,
    tolerance: float,
    sample: ModelSample | None = None,
) -> dict[str, Any]:
    """Both models' predictions on ``sample`` when given, else on the original's input
    example."""
    import mlflow.pyfunc

    if sample is not None:
        example, on = sample.frame, sample.name
    else:
        on = "the logged input example"
        try:
            example = model.load_input_example(str(pa))
        except Exception as exc:
            return {"same": None, "note": safe_message(f"its input example is unreadable: {exc}")}
        if example is None:
            return {
                "same": None,
                "note": "no input example was logged with the model: predictions not compared "
                "(log_model(..., input_example=...) adds one, or rerun --model-sample FILE)",
            }
    try:
        ya = mlflow.pyfunc.load_model(str(pa)).predict(example)
        yb = mlflow.pyfunc.load_model(str(pb)).predict(example)
    except Exception as exc:
        return {
            "same": False,
            "on": on,
            "note": safe_message(f"predicting on {on} failed: {type(exc).__name__}: {exc}"),
        }
    same, worst = _close(ya, yb, tolerance)
    return {"same": same, "rows": _rows(ya), "max_difference": worst, "on": on}


def _rows(y: Any) -> int:
    try:
        return len(y)
    except TypeError:
        return 1


def _close(a: Any, b: Any, tolerance: float) -> tuple[bool, float | None]:
    """Equal predictions: numbers within ``tolerance`` (relative), the rest exactly."""
    import numpy as np

    xa, xb = _array(a), _array(b)
    if xa.shape != xb.shape:
        return False, None
    if xa.dtype.kind in "fiub" and xb.dtype.kind in "fiub":
        fa, fb = xa.astype(float), xb.astype(float)
        worst = float(np.nanmax(np.abs(fa - fb))) if fa.size else 0.0
        same = bool(np.allclose(fa, fb, rtol=tolerance, atol=0.0, equal_nan=True))
        return same, worst
    return bool(np.array_equal(xa, xb)), None


def _array(y: Any) -> Any:
    import numpy as np

    if hasattr(y, "to_numpy"):  # pandas
        return y.to_numpy()
    if isinstance(y, Mapping):
        return np.asarray([_array(v) for _, v in sorted(y.items())], dtype=object)
    return np.asarray(y)


__all__ = ["ModelSample", "compare_models", "load_sample", "logged_models"]
