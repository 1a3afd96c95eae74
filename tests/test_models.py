"""`nbrepro rerun models:/...`: a registered model version is reproduced through the run
that logged it (a real scikit-learn model in a real store's registry), and the verdict is
written on the version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_notebook

from nbrepro import paths

pytestmark = pytest.mark.kernel

TRAIN = """import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=500).fit(X, y)
mlflow.log_metric("accuracy", float(model.score(X, y)))
mlflow.sklearn.log_model(model, name="model", registered_model_name="iris-lr")
print("trained")"""


def nbrepro(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbrepro.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )


def test_a_registered_model_version_is_reproduced_through_its_run(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    from mlflow import MlflowClient

    nb = write_notebook(tmp_path / "train.ipynb", [("train", TRAIN)])
    res = nbrepro("run", str(nb), "-e", "models", "--json")
    assert res.returncode == 0, res.stderr
    original = json.loads(res.stdout)["run_id"]
    client = MlflowClient(paths.default_tracking_uri())
    [version] = client.search_model_versions("name = 'iris-lr'")
    assert version.run_id == original
    client.set_registered_model_alias("iris-lr", "champion", version.version)

    res = nbrepro("rerun", "models:/iris-lr@champion", "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 0 and report["verdict"] == "reproduced", (res.stderr, report)
    assert report["reproduces"] == original
    assert any("models:/iris-lr/1 was logged by run" in n for n in report["notes"])
    tags = client.get_model_version("iris-lr", "1").tags
    assert tags == {"nbrepro.verdict": "reproduced", "nbrepro.last_rerun": report["run_id"]}
    # The rerun logged (and registered) its own model: version 2, from the rerun's run.
    assert client.get_model_version("iris-lr", "2").run_id == report["run_id"]

    res = nbrepro("rerun", "models:/iris-lr/1", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["reproduces"] == original

    for uri, message in [
        ("models:/no-such-model/1", "no-such-model"),
        ("models:/iris-lr/7", "iris-lr"),
        ("models:/iris-lr@nobody", "nobody"),
        ("models:/iris-lr/Production", "stages are not read"),
        ("models:/iris-lr", "is not a model version"),
    ]:
        res = nbrepro("rerun", uri, "--json")
        assert res.returncode == 2, (uri, res.stdout, res.stderr)
        assert message in json.loads(res.stdout)["error"], (uri, res.stdout)
