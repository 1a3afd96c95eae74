"""`nbrepro rerun models:/...`: a registered model version is reproduced through the run
that logged it (a real scikit-learn model in a real store's registry), and the verdict is
written on the version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import api_check, nbrepro_cli, write_notebook

from nbrepro import paths

pytestmark = pytest.mark.kernel

TRAIN = """import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=500).fit(X, y)
mlflow.log_metric("accuracy", float(model.score(X, y)))
mlflow.sklearn.log_model(
    model, name="model", registered_model_name="iris-lr", input_example=X[:5]
)
print("trained")"""


def test_a_registered_model_version_is_reproduced_through_its_run(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    from mlflow import MlflowClient

    nb = write_notebook(tmp_path / "train.ipynb", [("train", TRAIN)])
    res = nbrepro_cli("run", str(nb), "-e", "models", "--json")
    assert res.returncode == 0, res.stderr
    original = json.loads(res.stdout)["run_id"]
    client = MlflowClient(paths.default_tracking_uri())
    [version] = client.search_model_versions("name = 'iris-lr'")
    assert version.run_id == original
    client.set_registered_model_alias("iris-lr", "champion", version.version)

    res = nbrepro_cli("rerun", "models:/iris-lr@champion", "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 0 and report["verdict"] == "reproduced", (res.stderr, report)
    api_check(report, "Report")
    assert report["reproduces"] == original
    assert any("models:/iris-lr/1 was logged by run" in n for n in report["notes"])
    [row] = report["sections"]["model"]["models"]
    assert row["name"] == "model" and row["same"] is True
    assert row["flavors"]["original"] == ["python_function", "sklearn"]
    assert row["predictions"] == {
        "same": True,
        "rows": 5,
        "max_difference": 0.0,
        "on": "the logged input example",
    }
    tags = client.get_model_version("iris-lr", "1").tags
    assert tags == {"nbrepro.verdict": "reproduced", "nbrepro.last_rerun": report["run_id"]}
    # The rerun logged (and registered) its own model: version 2, from the rerun's run.
    assert client.get_model_version("iris-lr", "2").run_id == report["run_id"]

    res = nbrepro_cli("rerun", "models:/iris-lr/1", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["reproduces"] == original
    last = json.loads(res.stdout)["run_id"]

    # The sidebar's run details name the versions registered from the run, and their verdict.
    from nbrepro.store.models import registered_from

    [shown] = registered_from(original, paths.default_tracking_uri()) or []
    api_check(shown, "RegisteredModelVersion")
    assert shown == {
        "name": "iris-lr",
        "version": "1",
        "aliases": ["champion"],
        "verdict": "reproduced",
        "last_rerun": last,
    }

    for uri, message in [
        ("models:/no-such-model/1", "no-such-model"),
        ("models:/iris-lr/7", "iris-lr"),
        ("models:/iris-lr@nobody", "nobody"),
        ("models:/iris-lr/Production", "stages are not read"),
        ("models:/iris-lr", "is not a model version"),
    ]:
        res = nbrepro_cli("rerun", uri, "--json")
        assert res.returncode == 2, (uri, res.stdout, res.stderr)
        assert message in json.loads(res.stdout)["error"], (uri, res.stdout)


SHIFTING = """from pathlib import Path
import mlflow
import numpy as np
from sklearn.linear_model import LinearRegression
p = Path("count.txt")
n = int(p.read_text()) if p.exists() else 0
p.write_text(str(n + 1))
X = np.arange(20, dtype=float).reshape(-1, 1)
model = LinearRegression().fit(X, 2 * X[:, 0] + 1 + 0.5 * n)
mlflow.sklearn.log_model(model, name="model", input_example=X[:3])

class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return np.asarray(model_input, dtype=float).ravel() * 2

mlflow.pyfunc.log_model(name="doubler", python_model=Doubler(), input_example=X[:2])
# The same model every run, logged without an input example: nothing can show it is.
steady = LinearRegression().fit(X, 3 * X[:, 0])
mlflow.sklearn.log_model(steady, name="steady")
print("logged")"""


def test_a_model_that_does_not_reproduce_makes_the_verdict_differ(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    """Everything the notebook prints is the same; the model it trains is not (its data
    shifts with a counter kept next to it): differs (model). A second flavor (a pyfunc
    PythonModel) that reproduces is said to."""
    nb = write_notebook(tmp_path / "shift.ipynb", [("train", SHIFTING)])
    res = nbrepro_cli("run", str(nb), "-e", "models", "--json")
    assert res.returncode == 0, res.stderr
    res = nbrepro_cli("rerun", json.loads(res.stdout)["run_id"], "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 1 and report["verdict"] == "differs", (res.stderr, report)
    assert report["differs"] == ["model"]
    api_check(report, "Report")
    rows = {r["name"]: r for r in report["sections"]["model"]["models"]}
    assert rows["model"]["same"] is False and rows["model"]["predictions"]["same"] is False
    assert rows["model"]["predictions"]["max_difference"] == pytest.approx(0.5)
    assert rows["model"]["signature"]["same"] and rows["model"]["requirements"]["same"]
    assert rows["doubler"]["same"] is True and rows["doubler"]["flavors"]["original"] == [
        "python_function"
    ]
    # Never called the same unseen: no predictions to compare, and its files differ.
    assert rows["steady"]["same"] is False and rows["steady"]["predictions"]["same"] is None
    assert "not shown to be the same model" in rows["steady"]["note"]
    assert any("'steady': not shown to be the same model" in n for n in report["notes"])
    # `diff` compares the two runs' models as the rerun's report did.
    res = nbrepro_cli("diff", report["reproduces"], report["run_id"])
    assert res.returncode == 1 and "model: DIFFERS (3)" in res.stdout, res.stdout
    assert "predictions DIFFER (max difference 0.5)" in res.stdout

    # On a sample the user names, the model without an input example is compared too.
    sample = tmp_path / "sample.csv"
    sample.write_text("x\n0.5\n3\n7\n11\n")
    res = nbrepro_cli("rerun", report["reproduces"], "--model-sample", str(sample), "--json")
    on_sample = json.loads(res.stdout)
    api_check(on_sample, "Report")
    rows = {r["name"]: r for r in on_sample["sections"]["model"]["models"]}
    assert rows["steady"]["same"] is True, rows["steady"]
    assert rows["steady"]["predictions"] == {
        "same": True,
        "rows": 4,
        "max_difference": 0.0,
        "on": "sample.csv",
    }
    assert rows["model"]["predictions"]["same"] is False
    assert on_sample["differs"] == ["model"]
    shown = nbrepro_cli("rerun", report["reproduces"], "--model-sample", str(sample)).stdout
    assert (
        "steady: flavors same, signature same, requirements same, predictions same on sample.csv"
        in shown
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("x\n")
    res = nbrepro_cli("rerun", report["reproduces"], "--model-sample", str(empty), "--json")
    assert res.returncode == 2 and "has no rows" in json.loads(res.stdout)["error"]
