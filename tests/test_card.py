"""The card under a `%%repro` cell: a widget in a kernel, plain text where widgets cannot live."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from deltalake import write_deltalake
from helpers import latest_run, write_notebook

from nbrepro import paths
from nbrepro.kernel.card import mlflow_ui_for, run_link
from nbrepro.record.summary import store_label, table_name

pytestmark = pytest.mark.kernel

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def store(nbrepro_home: Path) -> str:
    return paths.default_tracking_uri()


def _table(tmp_path: Path) -> str:
    uri = str(tmp_path / "lake" / "wine")
    write_deltalake(uri, pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    return uri


def test_card_in_a_kernel_is_a_widget_with_the_summary_as_fallback(
    kernel_factory, tmp_path: Path, store: str
) -> None:
    uri = _table(tmp_path)
    k = kernel_factory()
    k.ok("%load_ext nbrepro")
    r = k.ok(
        f"%%repro --name carded\nfrom deltalake import DeltaTable\n"
        f"total = DeltaTable({uri!r}).to_pandas().x.sum()"
    )
    bundles = [o["data"] for o in r.outputs if "data" in o]
    card = [b for b in bundles if WIDGET in b]
    assert len(card) == 1, bundles
    run = latest_run(store)
    # nbconvert, papermill output and viewers show these instead of the widget.
    assert f"nbrepro: run carded ({run.info.run_id})" in card[0]["text/plain"]
    assert f"{uri} @ v0" in card[0]["text/plain"]
    assert run.info.run_id in card[0]["text/html"]
    # The card itself holds what was captured, and its Re-execute button.
    shown = k.ok(
        "c = get_ipython()._nbrepro_state.last_card\n"
        "print(c.header.value)\nprint(c.button.description)"
    ).stdout
    assert run.info.run_id in shown
    assert f"<code title='{uri} (via pandas)'>wine</code> @ v0" in shown
    assert "Re-execute" in shown
    # The store by its path (the whole URI on hover).
    assert f"<code title='{store}'>{store_label(store)}</code>" in shown


def test_cards_share_their_layouts_and_styles(kernel_factory, store: str) -> None:
    """Each widget made costs the cell: a card after the first makes only its own six
    (summary, two choices, button, two boxes), and one made after every widget was
    closed works as the first did."""
    k = kernel_factory()
    k.ok("%load_ext nbrepro\nfrom ipywidgets.widgets import widget as _w")
    k.ok("%%repro --name first\nx = 1")
    made = k.ok(
        "n = len(_w._instances)\nget_ipython().run_cell_magic('repro', '--name second', 'y = 2')\n"
        "print(len(_w._instances) - n)"
    ).stdout.split()[-1]
    assert made == "6"
    shown = k.ok(
        "import ipywidgets\na = get_ipython()._nbrepro_state.last_card\n"
        "ipywidgets.Widget.close_all()\n"
        "get_ipython().run_cell_magic('repro', '--name third', 'z = 3')\n"
        "c = get_ipython()._nbrepro_state.last_card\n"
        "print(c.layout.border_left, c.layout.comm is not None, c.layout is not a.layout)\n"
        "print(c.button.description, c.env_choice.style.description_width)"
    ).stdout
    assert "3px solid" in shown and "True True" in shown, shown
    assert "Re-execute initial" in shown, shown


def test_the_card_names_a_local_store_by_its_path_from_home() -> None:
    home = "/home/ada"
    assert store_label("sqlite:////home/ada/.local/share/nbrepro/mlflow.db", home) == (
        "~/.local/share/nbrepro/mlflow.db"
    )
    assert store_label("file:///home/ada/mlruns", home) == "~/mlruns"
    assert store_label("/srv/mlruns", home) == "/srv/mlruns"
    assert store_label("sqlite:////home/adam/x.db", home) == "/home/adam/x.db"
    assert store_label("http://mlflow:5000", home) == "http://mlflow:5000"
    assert store_label("databricks", home) == "databricks"


def test_card_reexecutes_and_shows_the_verdict_in_place(
    kernel_factory, tmp_path: Path, store: str
) -> None:
    uri = _table(tmp_path)
    nb = write_notebook(
        tmp_path / "train.ipynb",
        [
            ("load", "%load_ext nbrepro"),
            (
                "cap",
                f"%%repro --name card-rerun\nimport mlflow\nfrom deltalake import DeltaTable\n"
                f"mlflow.log_metric('total', float(DeltaTable({uri!r}).to_pandas().x.sum()))",
            ),
        ],
    )
    k = kernel_factory(cwd=tmp_path, env={"JPY_SESSION_NAME": str(nb)})
    k.ok("%load_ext nbrepro", "load")
    k.ok(
        f"%%repro --name card-rerun\nimport mlflow\nfrom deltalake import DeltaTable\n"
        f"mlflow.log_metric('total', float(DeltaTable({uri!r}).to_pandas().x.sum()))",
        "cap",
    )
    # The nightly job appends rows: the pinned rerun must still reproduce.
    write_deltalake(uri, pd.DataFrame({"x": [10.0]}), mode="append")
    k.ok("c = get_ipython()._nbrepro_state.last_card\nc.start_rerun()")
    deadline = time.monotonic() + 240
    status = ""
    while time.monotonic() < deadline:
        status = k.ok("print(c.status.value)").stdout
        if "nbrepro-card-verdict" in status or "could not" in status:
            break
        time.sleep(2)
    assert "reproduced" in status, status
    # The sidebar's colours and headline, and a link to its full report there.
    assert "nbrepro-verdict nbrepro-verdict-reproduced" in status
    assert "var(--jp-success-color1" in status
    assert k.ok("print(c.button.disabled)").stdout.strip() == "False"
    original = latest_run(store)
    assert original.data.tags.get("nbrepro.reproduces")  # the rerun is the newest run
    assert original.data.tags["nbrepro.verdict"] == "reproduced"
    captured = original.data.tags["nbrepro.reproduces"]
    assert f"data-nbrepro-show-run='{captured}'" in status and "full report" in status


def test_papermill_output_keeps_the_plain_summary(tmp_path: Path, store: str) -> None:
    import papermill as pm

    nb = write_notebook(
        tmp_path / "pm.ipynb",
        [("load", "%load_ext nbrepro"), ("cap", "%%repro --name pm\nx = 41 + 1")],
    )
    out = tmp_path / "pm.out.ipynb"
    pm.execute_notebook(str(nb), str(out), progress_bar=False, cwd=str(tmp_path))
    cell = nbformat.read(str(out), as_version=4).cells[1]
    texts = [o["data"]["text/plain"] for o in cell.outputs if "data" in o]
    assert any(t.startswith("nbrepro: run pm (") for t in texts), texts


def test_terminal_ipython_gets_the_plain_summary(tmp_path: Path, store: str) -> None:
    script = tmp_path / "capture.ipy"
    # A .ipy script runs as one cell: the %%repro cell goes through run_cell as typed.
    script.write_text(
        "%load_ext nbrepro\nget_ipython().run_cell('%%repro --name term\\ny = 2')\n", "utf-8"
    )
    ipython = Path(sys.executable).with_name("ipython")
    proc = subprocess.run(
        [str(ipython), "--no-banner", "--quick", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "nbrepro: run term (" in proc.stdout
    assert "VBox" not in proc.stdout and "ReproCard" not in proc.stdout


def test_run_links_need_an_mlflow_ui_address() -> None:
    assert run_link(None, "1", "abc") is None
    assert run_link("http://127.0.0.1:5000/", "1", "abc") == (
        "http://127.0.0.1:5000/#/experiments/1/runs/abc"
    )
    assert mlflow_ui_for("sqlite:///tmp/mlflow.db", None) is None
    assert mlflow_ui_for("http://127.0.0.1:5000", None) == "http://127.0.0.1:5000"
    assert mlflow_ui_for("http://127.0.0.1:5000", "http://ui:8080") == "http://ui:8080"


def test_table_names_are_the_last_part_of_the_uri() -> None:
    assert table_name("s3://lake/features/wine/") == "wine"
    assert table_name("/data/lake/wine") == "wine"


def _minimal_record() -> dict:
    return {
        "run": {
            "run_id": "a" * 32,
            "run_name": "<b>r</b>",
            "status": "FINISHED",
            "experiment_id": "1",
            "experiment_name": "e",
        },
        "code": {
            "cells": [],
            "document": {"path": None},
            "hidden_state": {"hidden": False, "explanations": []},
        },
        "data": {"reads": [], "writes": []},
        "environment": {"hash": "0" * 64},
        "warnings": [],
    }


def test_card_escapes_job_errors_and_hides_uri_credentials() -> None:
    from nbrepro.kernel.card import ReproCard

    card = ReproCard(
        _minimal_record(), "store", None, tracking_uri="https://me:s3cret@mlflow.example.com"
    )
    assert "s3cret" not in card.header.value and "mlflow.example.com" in card.header.value
    assert "<b>r</b>" not in card.header.value
    card._render_job(
        {
            "state": "failed",
            "error": "cell raised ValueError: <img src=x onerror=alert(1)>",
            "progress": {},
        }
    )
    assert "<img" not in card.status.value and "&lt;img" in card.status.value


def test_a_vacuumed_pin_is_said_in_the_notebooks_words_and_latest_is_chosen() -> None:
    from nbrepro.kernel.card import ReproCard

    card = ReproCard(_minimal_record(), "store", None, tracking_uri="store")
    assert card.data_choice.value == "pinned"
    reason = {
        "code": "pinned-data-unavailable",
        "tables": [{"uri": "s3://lake/<orders>", "version": 0, "kind": "files_missing"}],
    }
    card._render_job(
        {
            "state": "failed",
            "error": "... pass --data latest",
            "error_reason": reason,
            "progress": {},
        }
    )
    status = card.status.value
    assert "&lt;orders&gt; v0 can no longer be read: vacuumed" in status
    assert "--data" not in status  # the command line's words stay in its log
    assert card.data_choice.value == "latest" and "click Re-execute" in status

    # A table that is gone: no rerun can read it; the choice stays as it was.
    card.data_choice.value = "pinned"
    gone = {
        "code": "data-gone",
        "tables": [{"uri": "/lake/t", "version": 2, "kind": "table_missing"}],
    }
    card._render_job({"state": "failed", "error": "x", "error_reason": gone, "progress": {}})
    assert "t is gone: there is no Delta table at /lake/t any more" in card.status.value
    assert card.data_choice.value == "pinned"
