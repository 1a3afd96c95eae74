"""`%%repro` in a real ipykernel, driven through jupyter_client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import WAIT_UPLOADS, all_artifact_text, latest_run, run_record, write_notebook

from nbrepro import paths
from nbrepro.record.vocabulary import EXIT_OK, REPRODUCED

pytestmark = pytest.mark.kernel


@pytest.fixture
def store(nbrepro_home: Path) -> str:
    return paths.default_tracking_uri()


def test_capture_records_executed_history_and_hidden_state(
    kernel_factory, tmp_path: Path, store: str
) -> None:
    nb_path = write_notebook(
        tmp_path / "train.ipynb",
        [
            ("load", "%load_ext nbrepro"),
            ("a", "a = 2"),  # the document shows the edit; the kernel ran a = 1 first
            ("b", "b = a * 10"),
            ("never", "never_run = True"),
            (
                "cap",
                "%%repro --name first --tag team=ml\nimport mlflow\nmlflow.log_param('b', b)\n"
                "mlflow.log_metric('score', b / 4)\nprint('b is', b)\nb",
            ),
        ],
    )
    k = kernel_factory(env={"JPY_SESSION_NAME": str(nb_path)})
    k.ok("%load_ext nbrepro", "load")
    k.ok("a = 1", "a")
    k.ok("b = a * 10", "b")
    k.ok("a = 2", "a")  # edited and re-run after b used it
    r = k.ok(
        "%%repro --name first --tag team=ml\nimport mlflow\nmlflow.log_param('b', b)\n"
        "mlflow.log_metric('score', b / 4)\nprint('b is', b)\nb",
        "cap",
    )
    assert "b is 10" in r.stdout
    results = [o["data"]["text/plain"] for o in r.outputs if "data" in o]
    assert "10" in results  # the body's last expression is the cell's result
    assert any("nbrepro: run first" in t for t in results)  # the summary

    run = latest_run(store)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first"
    assert run.data.params == {"b": "10"}
    assert run.data.metrics == {"score": 2.5}
    assert run.data.tags["team"] == "ml"
    assert run.data.tags["mlflow.source.type"] == "NOTEBOOK"
    assert run.data.tags["mlflow.source.name"] == str(nb_path)
    assert run.data.tags["nbrepro.hidden_state"] == "true"

    rec = run_record(store, run.info.run_id)
    cells = rec["code"]["cells"]
    assert [c["source"] for c in cells][:4] == ["%load_ext nbrepro", "a = 1", "b = a * 10", "a = 2"]
    assert cells[-1]["source"].startswith("%%repro --name first")  # raw, not transformed
    assert [c["execution_count"] for c in cells] == [1, 2, 3, 4, 5]
    assert [c["cell_id"] for c in cells] == ["load", "a", "b", "a", "cap"]
    hidden = rec["code"]["hidden_state"]
    assert hidden["hidden"] is True
    assert hidden["out_of_order"] == [4]
    assert hidden["never_executed"] == [3]
    assert rec["code"]["document"]["available"] is True
    assert rec["run"]["run_id"] == run.info.run_id
    k.ok(WAIT_UPLOADS)
    from mlflow import MlflowClient

    listed = {f.path for f in MlflowClient(store).list_artifacts(run.info.run_id, "nbrepro")}
    assert {"nbrepro/notebook.html", "nbrepro/replay.ipynb", "nbrepro/notebook.ipynb"} <= listed
    assert set(rec["artifacts"].values()) <= listed | {
        p for p in rec["artifacts"].values() if "/environment/" in p
    }


def test_body_exception_is_exactly_the_users(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    plain = k.execute("def f():\n    return 1/0\nf()")
    captured = k.execute("%%repro\ndef f():\n    return 1/0\nf()")
    assert plain.status == captured.status == "error"
    assert captured.content["ename"] == "ZeroDivisionError"
    assert captured.content["evalue"] == plain.content["evalue"]
    tb = "\n".join(captured.content["traceback"])
    assert "nbrepro" not in tb.replace("%%repro", "")  # no frames of ours
    assert "return 1/0" in tb
    run = latest_run(store)
    assert run.info.status == "FAILED"
    rec = run_record(store, run.info.run_id)
    assert rec["run"]["error"] == {"ename": "ZeroDivisionError", "evalue": "division by zero"}
    assert rec["code"]["cells"][-1]["error"]["ename"] == "ZeroDivisionError"


def _frames(traceback: list[str]) -> list[str]:
    """A traceback as text, without colours, cell numbers and IPython's file names."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback))
    return re.sub(r"In ?\[\d+\]", "In[N]", text).splitlines()


def _without_file(evalue: str) -> str:
    # "invalid syntax (3602400769.py, line 1)": IPython names a cell's source after a hash
    # of the cell's text, which differs between any two cells.
    return re.sub(r"\([^()]*\.py, line", "(<cell>, line", evalue)


def test_runtime_error_shows_no_frame_of_nbrepro(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    plain = k.execute("def f():\n    return 1/0\nf()")
    captured = k.execute("%%repro\ndef f():\n    return 1/0\nf()")
    frames = _frames(captured.content["traceback"])
    # IPython shows every cell magic's call line and counts the frames it hides; below
    # them, the body's frames are the plain cell's, line for line.
    assert "nbrepro" not in "\n".join(frames).replace("%%repro", "")
    body = frames.index(next(f for f in frames if f.startswith("Cell In[N], line 3")))
    plain_frames = _frames(plain.content["traceback"])
    start = plain_frames.index("Cell In[N], line 3")
    assert frames[body:] == plain_frames[start:]


@pytest.mark.parametrize(
    "body",
    [
        "x = (1,\ny = 2",  # SyntaxError
        "def f(:\n    pass",
        "x = 1\n  y = 2",  # IndentationError
        "print(1)\nif True:\nprint(2)",
    ],
)
def test_syntax_error_in_body_looks_as_without_nbrepro(
    kernel_factory, store: str, body: str
) -> None:
    from mlflow import MlflowClient

    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    plain = k.execute(body)
    captured = k.execute(f"%%repro --name broken\n{body}")
    assert plain.status == captured.status == "error"
    assert captured.content["ename"] == plain.content["ename"]
    assert _without_file(captured.content["evalue"]) == _without_file(plain.content["evalue"])
    assert _frames(captured.content["traceback"]) == _frames(plain.content["traceback"])
    assert "Traceback" not in captured.text() and "nbrepro" not in captured.text()
    assert captured.stdout == plain.stdout == ""  # the body did not run, as the plain cell's
    # Nothing ran, so nothing was captured (as IPython runs nothing of such a cell); the
    # next capture records the cell and its error in the session's history.
    assert MlflowClient(store).get_experiment_by_name("nbrepro") is None
    k.ok("%%repro --name after\nx = 1")
    rec = run_record(store, latest_run(store).info.run_id)
    failed = rec["code"]["cells"][-2]
    assert failed["source"].startswith("%%repro --name broken")
    assert failed["error"]["ename"] == plain.content["ename"]


def test_keyboard_interrupt_ends_run_killed(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    r = k.execute("%%repro\nraise KeyboardInterrupt")
    assert r.status == "error"
    assert latest_run(store).info.status == "KILLED"


def test_options_are_quoted_as_in_a_shell(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    k.ok("""%%repro --experiment "my exp" --name 'first run' --tag k="a b" -t 'q=it''s'\nx = 1""")
    run = latest_run(store, experiment="my exp")
    assert run.info.run_name == "first run"
    assert run.data.tags["k"] == "a b" and run.data.tags["q"] == "its"
    k.ok("%repro -e 'my exp' -n 'line magic'")
    assert latest_run(store, experiment="my exp").info.run_name == "line magic"


@pytest.mark.parametrize(
    "options",
    [
        "--experiment ''",
        '--experiment ""',
        "-e '  '",
        "--name ''",
        "--tag =v",
        "--tag ''",
        "--tag ' =v'",
        "--tag k='a b",  # a quote left open
    ],
)
def test_empty_names_are_usage_errors(kernel_factory, store: str, options: str) -> None:
    from mlflow import MlflowClient

    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    for cell in (f"%%repro {options}\nx = 1", f"%repro {options}"):
        r = k.execute(cell)
        assert r.status == "error" and r.content["ename"] == "UsageError", (cell, r.text())
        assert "Traceback" not in r.text()
    assert k.execute("x").status == "error"  # the body did not run
    client = MlflowClient(store)
    assert [e.name for e in client.search_experiments()] in ([], ["Default"])


def test_usage_errors_show_help_and_start_no_run(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    r = k.execute("%%repro --bogus\nx = 1")
    assert r.status == "error" and r.content["ename"] == "UsageError"
    assert "--experiment" in r.content["evalue"]  # the help is in the message
    r = k.execute("%%repro --tag nokey\nx = 1")
    assert r.content["ename"] == "UsageError" and "KEY=VALUE" in r.content["evalue"]
    r = k.ok("%%repro?")
    pager = r.content["payload"][0]["data"]["text/plain"]  # help goes to the pager
    assert "--seed" in pager and "--experiment" in pager


@pytest.mark.parametrize("cell", ["%%repro\n# nothing to run\n", "%repro --name now"])
def test_empty_body_and_unknown_notebook_give_valid_run(
    kernel_factory, store: str, cell: str
) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    k.ok("x = 1")
    k.ok(cell)
    run = latest_run(store)
    rec = run_record(store, run.info.run_id)  # validates against the schema
    assert run.info.status == "FINISHED"
    assert rec["code"]["document"]["available"] is False
    assert "notebook path unknown" in rec["code"]["document"]["missing_reason"]
    assert [c["source"] for c in rec["code"]["cells"]][1] == "x = 1"


def test_seed_and_config_defaults(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    k.ok("%config ReproMagics.experiment = 'configured'")
    r1 = k.ok("%%repro --seed 3\nimport random, numpy\nprint(random.random(), numpy.random.rand())")
    r2 = k.ok("%%repro --seed 3\nimport random, numpy\nprint(random.random(), numpy.random.rand())")
    assert r1.stdout == r2.stdout
    run = latest_run(store, experiment="configured")
    assert run.data.tags["nbrepro.seed"] == "3"
    assert run_record(store, run.info.run_id)["run"]["seed"] == 3


def test_large_outputs_are_capped_with_a_note(kernel_factory, store: str, tmp_path: Path) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    k.ok("%config ReproMagics.max_output_bytes = 2000")
    r = k.ok("%%repro\nfor i in range(20000):\n    print('x' * 100)\n6 * 7")
    assert r.stdout.count("x" * 100) == 20000  # the user still sees everything
    run_id = latest_run(store).info.run_id
    rec = run_record(store, run_id)
    assert rec["code"]["outputs_truncated"] is True
    assert any("outputs cut" in w for w in rec["warnings"])
    # The head of the output up to the cap, the note, and the cell's result.
    recorded = json.loads(
        all_artifact_text(store, run_id, tmp_path / "dl")["nbrepro/capture_outputs.json"]
    )
    head, result, note = recorded
    assert head["text"].startswith("x" * 100 + "\n" + "x" * 100)
    assert 1500 < len(head["text"]) <= 2000
    assert "outputs cut at 2000 bytes" in note["text"]
    assert result["output_type"] == "execute_result" and result["data"]["text/plain"] == "42"
    # Re-executed, the cell prints the same 2 MB: compared as far as it was recorded.
    res = subprocess.run(
        [sys.executable, "-m", "nbrepro.cli", "rerun", run_id, "--json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    report = json.loads(res.stdout)
    assert report["verdict"] == REPRODUCED, res.stdout[-3000:]
    assert res.returncode == EXIT_OK
    # ...and the report says what was not compared.
    assert report["sections"]["outputs"]["capped"][0]["limit"] == 2000
    assert any("only the first 2000 bytes" in n for n in report["notes"]), report["notes"]


def test_status_line_magic(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    k.ok("y = 2")
    r = k.ok("%repro status")
    assert "executed cells: 3" in r.stdout
    assert "environment:" in r.stdout and "tracking store:" in r.stdout


def test_without_deltalake_capture_still_works(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("import sys; sys.modules['deltalake'] = None")  # as if not installed
    k.ok("%load_ext nbrepro")
    k.ok("%%repro\nz = 3")
    rec = run_record(store, latest_run(store).info.run_id)
    assert rec["data"]["reads"] == []


def test_replay_reproduces_out_of_order_state(kernel_factory, tmp_path: Path, store: str) -> None:
    """Document order would give b == 20; the session (and so the replay) gave b == 10."""
    import nbformat
    from mlflow import MlflowClient

    from nbrepro.reproduce.execute import run_papermill

    nb_path = write_notebook(
        tmp_path / "ooo.ipynb",
        [
            ("l", "%load_ext nbrepro"),
            ("a", "a = 2"),
            ("b", "b = a * 10"),
            ("c", "%%repro --name ooo\nprint('b is', b)"),
        ],
    )
    k = kernel_factory(env={"JPY_SESSION_NAME": str(nb_path)})
    k.ok("%load_ext nbrepro", "l")
    k.ok("a = 1", "a")
    k.ok("b = a * 10", "b")
    k.execute("1/0")  # a failing cell typed in and deleted: the replay must go past it
    k.ok("a = 2", "a")
    assert "b is 10" in k.ok("%%repro --name ooo\nprint('b is', b)", "c").stdout

    run = latest_run(store)
    replay = Path(MlflowClient(store).download_artifacts(run.info.run_id, "nbrepro/replay.ipynb"))
    out = tmp_path / "replayed.ipynb"
    assert run_papermill(replay, out, cwd=tmp_path).error is None  # the 1/0 was expected
    cells = nbformat.read(str(out), as_version=4).cells
    printed = "".join(
        o.get("text", "") for o in cells[-1].outputs if o.get("output_type") == "stream"
    )
    assert "b is 10" in printed
    assert [c.source for c in cells] == [
        "%load_ext nbrepro",
        "a = 1",
        "b = a * 10",
        "1/0",
        "a = 2",
        "%%repro --name ooo\nprint('b is', b)",
    ]


def test_document_artifact_is_the_saved_file_byte_for_byte(
    kernel_factory, tmp_path: Path, store: str
) -> None:
    import hashlib

    from mlflow import MlflowClient

    nb_path = write_notebook(
        tmp_path / "exact.ipynb", [("l", "%load_ext nbrepro"), ("c", "%%repro\nx = 1")]
    )
    k = kernel_factory(env={"JPY_SESSION_NAME": str(nb_path)})
    k.ok("%load_ext nbrepro", "l")
    k.ok("%%repro\nx = 1", "c")
    run = latest_run(store)
    rec = run_record(store, run.info.run_id)
    logged = Path(MlflowClient(store).download_artifacts(run.info.run_id, "nbrepro/notebook.ipynb"))
    assert logged.read_bytes() == nb_path.read_bytes()
    assert rec["code"]["document"]["sha256"] == hashlib.sha256(nb_path.read_bytes()).hexdigest()
    assert not rec["code"]["hidden_state"]["hidden"]


def test_top_level_await_body_is_refused_before_any_run(kernel_factory, store: str) -> None:
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    r = k.execute("%%repro --name async\nimport asyncio\nawait asyncio.sleep(0)")
    assert r.status == "error" and r.content["ename"] == "UsageError"
    assert "%repro" in r.content["evalue"]
    k.ok("import asyncio\nawait asyncio.sleep(0)")
    k.ok("%repro --name after-async")  # the way out the message gives
    assert latest_run(store).info.run_name == "after-async"


def test_a_result_is_recorded_as_ipython_formats_it() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from nbrepro.kernel.capture import _formatted

    shown = []

    class Table:
        def _repr_html_(self) -> str:
            return "<table><tr><td>1</td></tr></table>"

    class Displays:
        def _ipython_display_(self) -> None:
            shown.append(1)

    shell = InteractiveShell.instance()
    assert _formatted(shell, Table())["text/html"].startswith("<table>")
    assert set(_formatted(shell, Displays())) == {"text/plain"} and shown == []


def test_the_notebook_is_found_as_vs_code_tells_it(
    kernel_factory, tmp_path: Path, store: str
) -> None:
    """VS Code's Jupyter extension gives the kernel no JPY_SESSION_NAME (or, through a
    Jupyter server, that of a temporary copy): it sets ``__vsc_ipynb_file__`` in the
    namespace, as its start-up code does here."""
    nb = write_notebook(tmp_path / "in vscode.ipynb", [("cap", "%%repro\nx = 41 + 1")])
    temporary = tmp_path / "in vscode-jvsc-5e1f0c7a.ipynb"  # gone once VS Code opened it
    k = kernel_factory(cwd=tmp_path, env={"JPY_SESSION_NAME": str(temporary)})
    k.ok(f"__vsc_ipynb_file__ = {str(nb)!r}")
    k.ok("%load_ext nbrepro")
    k.ok("%%repro\nx = 41 + 1", "cap")
    k.ok(WAIT_UPLOADS)
    run = latest_run(store)
    assert run.data.tags["mlflow.source.name"] == str(nb)
    rec = run_record(store, run.info.run_id)
    assert rec["code"]["document"]["available"] is True
    assert rec["code"]["cells"][-1]["cell_id"] == "cap"
