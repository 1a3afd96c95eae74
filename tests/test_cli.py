"""The `nbrepro` command line, run as a user runs it (subprocesses, real kernels)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from deltalake import write_deltalake
from helpers import latest_run, nbrepro_cli, run_record, write_notebook

from nbrepro import paths


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "t"
    write_deltalake(str(path), pd.DataFrame({"x": [1, 2, 3]}))
    write_deltalake(str(path), pd.DataFrame({"x": [4]}), mode="append")
    return path


@pytest.mark.kernel
def test_run_captures_notebook_with_parameters(
    tmp_path: Path, nbrepro_home: Path, table: Path
) -> None:
    nb = write_notebook(
        tmp_path / "job.ipynb",
        [
            ("p", "alpha = 1.0"),
            (
                "read",
                "from deltalake import DeltaTable\nimport mlflow\n"
                f"df = DeltaTable({str(table)!r}).to_pandas()\n"
                "mlflow.log_metric('total', float(df.x.sum() * alpha))",
            ),
        ],
    )
    import nbformat

    doc = nbformat.read(str(nb), as_version=4)
    doc.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(doc, str(nb))
    out = tmp_path / "out.ipynb"
    res = nbrepro_cli("run", str(nb), "-p", "alpha", "2", "-e", "jobs", "-o", str(out), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["status"] == "FINISHED"
    assert {"run_id", "experiment_id", "status", "tracking_uri"} <= set(data)
    assert data["delta_reads"][0]["version"] == 1
    assert out.exists()
    store = paths.default_tracking_uri()
    run = latest_run(store, "jobs")
    assert run.info.run_id == data["run_id"]
    assert run.data.metrics == {"total": 20.0}  # the notebook's own log, in the same run
    rec = run_record(store, run.info.run_id)
    assert rec["mode"] == "headless"
    assert rec["data"]["reads"][0]["uri"] == str(table.resolve())
    sources = [c["source"] for c in rec["code"]["cells"]]
    assert not any("Injected by nbrepro" in s for s in sources)
    assert any("alpha = 2" in s for s in sources)  # papermill's injected parameters ran
    assert rec["code"]["document"]["available"]


@pytest.mark.kernel
def test_run_failing_notebook_exits_nonzero_with_cell_and_error(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    nb = write_notebook(
        tmp_path / "bad.ipynb", [("a", "x = 1"), ("b", "raise ValueError('bad data')")]
    )
    res = nbrepro_cli("run", str(nb), "--json")
    assert res.returncode == 1
    data = json.loads(res.stdout)
    assert data["status"] == "FAILED"
    assert data["error"]["ename"] == "ValueError"
    assert data["error"]["evalue"] == "bad data"
    # Numbered as the user sees the notebook: nbrepro adds no cell of its own.
    assert data["error"]["cell_index"] == 1
    assert data["error"]["execution_count"] == 2
    assert data["error"]["cell"] == "In [2] (cell 2)"
    assert "Error: In [2] (cell 2) raised ValueError: bad data" in res.stderr
    run = latest_run(paths.default_tracking_uri())
    assert run.info.status == "FAILED"


def test_run_missing_notebook_is_a_clear_usage_error(tmp_path: Path, nbrepro_home: Path) -> None:
    res = nbrepro_cli("run", str(tmp_path / "nope.ipynb"))
    assert res.returncode == 2
    assert "notebook not found" in res.stderr
    assert "Traceback" not in res.stderr


def test_json_is_one_object_on_stdout_also_for_errors(tmp_path: Path, nbrepro_home: Path) -> None:
    nb = write_notebook(tmp_path / "root.ipynb", [("a", "print(1)")])
    data = json.loads(nb.read_text())
    data["metadata"]["kernelspec"] = {"name": "Python [Root]", "display_name": "Python [Root]"}
    nb.write_text(json.dumps(data))
    res = nbrepro_cli("run", str(nb), "--json")
    assert res.returncode == 2
    body = json.loads(res.stdout)
    assert body["status"] == "error" and body["run_id"] is None and body["exit_code"] == 2
    assert "'Python [Root]'" in body["error"] and "python3" in body["error"]
    assert "-k NAME" in body["error"] and "Traceback" not in res.stderr

    res = nbrepro_cli("rerun", "0" * 32, "--json")
    assert res.returncode == 2
    body = json.loads(res.stdout)
    assert body["status"] == "error" and "no run" in body["error"]
    assert body["reproduces"] == "0" * 32


def test_info_prints_the_one_store(nbrepro_home: Path) -> None:
    res = nbrepro_cli("info", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["tracking_uri"] == f"sqlite:///{nbrepro_home / 'mlflow.db'}"
    assert data["pending_captures"] == 0


def test_sync_with_nothing_pending(nbrepro_home: Path) -> None:
    res = nbrepro_cli("sync")
    assert res.returncode == 0 and "nothing to sync" in res.stdout


def test_secret_named_parameters_are_redacted_but_still_compared(nbrepro_home: Path) -> None:
    from nbrepro.reproduce.headless import parameter_params, recorded_parameters

    params, secrets = parameter_params({"max_tokens": 256, "api_token": "s3cr3t-value", "seed": 7})
    assert params["seed"] == "7" and secrets == ["s3cr3t-value"]
    assert "256" not in params["max_tokens"] and "s3cr3t" not in params["api_token"]
    assert params["max_tokens"].startswith("[REDACTED:")
    # Equal values digest equally, other values differently: a change still shows.
    assert parameter_params({"max_tokens": 256})[0] == {"max_tokens": params["max_tokens"]}
    assert parameter_params({"max_tokens": 512})[0] != {"max_tokens": params["max_tokens"]}
    assert recorded_parameters({"max_tokens": 256}) == {"max_tokens": params["max_tokens"]}
    assert (nbrepro_home / "digest.key").stat().st_mode & 0o077 == 0
    # A value past MLflow's limit keeps a digest of the whole.
    long_a, long_b = "x" * 7000 + "a", "x" * 7000 + "b"
    cut_a = parameter_params({"p": long_a})[0]["p"]
    assert len(cut_a) <= 6000 and cut_a != parameter_params({"p": long_b})[0]["p"]


NOT_NOTEBOOKS = {
    "object without cells": '{"foo": 1}',
    "list": "[1, 2, 3]",
    "cells not a list": '{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    "cell not an object": '{"cells": [1], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    "cell source not text": '{"cells": [{"cell_type": "code", "source": 5, "metadata": {}, '
    '"outputs": [], "execution_count": null, "id": "a"}], "metadata": {}, "nbformat": 4, '
    '"nbformat_minor": 5}',
    "unknown nbformat": '{"cells": [], "metadata": {}, "nbformat": 9, "nbformat_minor": 0}',
    "not JSON": "print('hello')\n",
    "empty file": "",
}


@pytest.mark.parametrize("content", NOT_NOTEBOOKS.values(), ids=NOT_NOTEBOOKS.keys())
def test_run_on_a_file_that_is_not_a_notebook_is_one_line_exit_2(
    tmp_path: Path, nbrepro_home: Path, content: str
) -> None:
    from nbrepro.record.vocabulary import EXIT_INPUT

    nb = tmp_path / "bad.ipynb"
    nb.write_text(content)
    res = nbrepro_cli("run", str(nb))
    assert res.returncode == EXIT_INPUT, res.stderr
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {nb}"), res.stderr
    assert "notebook" in lines[0]
    res = nbrepro_cli("run", str(nb), "--json")
    assert res.returncode == EXIT_INPUT
    body = json.loads(res.stdout)
    assert body["status"] == "error" and body["exit_code"] == EXIT_INPUT
    assert body["error"] == lines[0].removeprefix("Error: ")
    assert not (nbrepro_home / "mlflow.db").exists()  # no run was opened


@pytest.mark.parametrize(
    "args",
    [
        ("-e", ""),
        ("--name", "  "),
        ("-o", "{tmp}/no/such/folder/out.ipynb"),
        ("-o", "{tmp}"),
    ],
    ids=["empty experiment", "blank run name", "output folder missing", "output is a folder"],
)
def test_run_refuses_bad_options_before_running(
    tmp_path: Path, nbrepro_home: Path, args: tuple[str, str]
) -> None:
    from nbrepro.record.vocabulary import EXIT_INPUT

    nb = write_notebook(tmp_path / "ok.ipynb", [("a", "print(1)")])
    res = nbrepro_cli("run", str(nb), args[0], args[1].format(tmp=tmp_path), "--json")
    assert res.returncode == EXIT_INPUT, res.stderr
    assert json.loads(res.stdout)["exit_code"] == EXIT_INPUT
    assert "Traceback" not in res.stderr
    assert not (nbrepro_home / "mlflow.db").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_rerun_json_interrupted_before_it_runs_prints_one_object(
    tmp_path: Path, nbrepro_home: Path, sig: signal.Signals
) -> None:
    """Interrupted anywhere, `rerun --json` prints its error object and exits 130.

    A FIFO as the sanitizers file holds the command at a known point, before the run is
    even looked up: reading it waits for data that never comes.
    """
    from nbrepro.record.vocabulary import EXIT_INTERRUPTED

    fifo = tmp_path / "sanitizers.cfg"
    os.mkfifo(fifo)
    run_id = "f" * 32
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro.cli", "rerun", run_id, "--json", "--sanitizers", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    writer = None
    try:
        deadline = time.time() + 60
        while writer is None and time.time() < deadline and proc.poll() is None:
            try:  # succeeds once the rerun opens the FIFO to read it
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
        assert writer is not None, "the rerun never opened the sanitizers file"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert json.loads(out) == {
        "status": "error",
        "run_id": None,
        "exit_code": EXIT_INTERRUPTED,
        "error": "the rerun was interrupted",
        "reproduces": run_id,
    }
    assert err.strip() == "Error: the rerun was interrupted"


def test_rerun_json_usage_errors_are_one_object(nbrepro_home: Path) -> None:
    from nbrepro.record.vocabulary import EXIT_INPUT

    for args in (("rerun", "--json"), ("rerun", "x" * 32, "--data", "bogus", "--json")):
        res = nbrepro_cli(*args)
        assert res.returncode == EXIT_INPUT
        body = json.loads(res.stdout)
        assert body["status"] == "error" and body["exit_code"] == EXIT_INPUT


def test_a_command_spares_itself_jsonschema_s_iri_grammars(nbrepro_home: Path) -> None:
    """nbformat (papermill's, the report's) imports jsonschema, whose optional IRI
    checker compiles 39 grammars at import: two seconds of CPU every command spares."""
    code = (
        "import sys\nfrom nbrepro.cli.commands import main\n"
        "try:\n    main(['info', '--json'])\nexcept SystemExit:\n    pass\n"
        "import nbformat, jsonschema\n"
        "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is None)\n"
        "nbformat.validate(nbformat.v4.new_notebook())\n"  # nbformat validates without it
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "True"
