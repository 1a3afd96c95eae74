"""Secrets never leave the machine: plant them everywhere, grep everything logged."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from deltalake import write_deltalake
from helpers import WAIT_UPLOADS, all_artifact_text, latest_run, write_notebook

pytestmark = [pytest.mark.kernel, pytest.mark.server]

ENV_TOKEN = "tok-PLANTED-env-4f8a91"
AWS_KEY = "awsPLANTEDsecret77c1"
URI_PASSWORD = "pwPLANTEDuri55"
GIT_TOKEN = "ghp_PLANTEDgit9d2e"
SAS_SIG = "sigPLANTEDsas31b"
SECRETS = [ENV_TOKEN, AWS_KEY, URI_PASSWORD, GIT_TOKEN, SAS_SIG]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_no_planted_secret_reaches_the_run(
    kernel_factory, mlflow_server, nbrepro_home: Path, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    project = tmp_path / "project"
    project.mkdir()
    table = project / "sales"
    write_deltalake(str(table), pd.DataFrame({"x": [1, 2]}))
    nb = write_notebook(project / "nb.ipynb", [("a", "%load_ext nbrepro")])
    git(project, "init", "-q")
    git(project, "remote", "add", "origin", f"https://bob:{GIT_TOKEN}@git.example/org/repo.git")
    git(project, "add", "nb.ipynb")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example", "commit", "-qm", "init")
    (project / "nb.ipynb").write_text((project / "nb.ipynb").read_text() + "\n")  # dirty

    host = mlflow_server.uri.split("//", 1)[1]
    uri_with_password = f"http://alice:{URI_PASSWORD}@{host}"
    k = kernel_factory(
        cwd=project,
        env={
            "MLFLOW_TRACKING_URI": uri_with_password,
            "MY_API_TOKEN": ENV_TOKEN,
            "AWS_SECRET_ACCESS_KEY": AWS_KEY,
            "MLFLOW_TRACKING_URI_COPY": uri_with_password,
            "JPY_SESSION_NAME": str(nb),
        },
    )
    k.ok("%load_ext nbrepro", "a")
    k.ok("%config ReproMagics.env_allow = ['MLFLOW_*', 'MY_*', 'AWS_*']")
    k.ok(
        f"from deltalake import DeltaTable\ndf = DeltaTable('file://{table}?sig={SAS_SIG}').to_pandas()"
    )
    r = k.ok(
        "%%repro -e secrets\nimport os, mlflow\nprint('token is', os.environ['MY_API_TOKEN'])\n"
        # The user's own logging, with secrets in it: redacted on the captured run.
        "mlflow.log_param('api_key', os.environ['MY_API_TOKEN'])\n"
        "mlflow.set_tag('aws', 'key=' + os.environ['AWS_SECRET_ACCESS_KEY'])\n"
        "mlflow.log_params({'lr': 0.1, 'token2': os.environ['MY_API_TOKEN']})"
    )
    assert ENV_TOKEN in r.stdout  # the user still sees their own output
    # Neither MLflow's "View run ... at: URL" nor anything of nbrepro's shows the password.
    assert URI_PASSWORD not in r.text()
    k.ok(WAIT_UPLOADS)  # the HTML rendering is logged after the cell returns

    run = latest_run(mlflow_server.uri, "secrets")
    client = MlflowClient(mlflow_server.uri)
    files = all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "dl")
    inputs = [
        json.dumps({"source": d.dataset.source, "name": d.dataset.name})
        for d in client.get_run(run.info.run_id).inputs.dataset_inputs
    ]
    haystacks = {
        **files,
        "tags": json.dumps(run.data.tags),
        "params": json.dumps(run.data.params),
        "inputs": json.dumps(inputs),
    }
    assert "nbrepro/repro.json" in files and "nbrepro/capture_outputs.json" in files
    assert "nbrepro/notebook.html" in files and "nbrepro/notebook.ipynb" in files
    assert len(inputs) == 1 and str(table) in inputs[0]  # the read was logged, without its sig
    for name, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {name}"
    rec = json.loads(files["nbrepro/repro.json"])
    assert rec["run"]["tracking_uri"] == mlflow_server.uri
    assert rec["environment"]["git"]["remotes"]["origin"] == "https://git.example/org/repo.git"
    assert rec["environment"]["git"]["dirty"] is True
    assert "MY_API_TOKEN" not in rec["environment"]["env_vars"]
    assert rec["data"]["reads"][0]["uri"] == str(table)
    assert "[REDACTED]" in files["nbrepro/capture_outputs.json"]
    assert run.data.params["api_key"] == "[REDACTED]" and run.data.params["lr"] == "0.1"
    assert run.data.tags["aws"] == "key=[REDACTED]"
    [note] = [w for w in rec["warnings"] if "held a secret" in w]
    assert "param 'api_key'" in note and "tag 'aws'" in note and "param 'token2'" in note
