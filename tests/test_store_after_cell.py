"""``ReproMagics.store_after_cell`` (the default): the cell returns once the capture is
built, and a kernel thread logs it; the card says when the run is stored, or spooled and why. Seen
from a real kernel, on a local store and on a server that stops answering."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import WAIT_UPLOADS, all_artifact_text, latest_run, store_kernel, sync_spool

from nbrepro.testing import StoreProxy

pytestmark = [pytest.mark.kernel, pytest.mark.server]

HTML = "nbrepro/notebook.html"
CARD = "c = get_ipython()._nbrepro_state.last_card\n"


def _kernel(kernel_factory: Any, uri: str, home: Path, timeout: float = 10.0) -> Any:
    k = store_kernel(kernel_factory, uri, home, timeout)  # store_after_cell: the default
    k.settle = False  # these tests see the cell return before the store
    return k


def _card(k: Any) -> tuple[str, bool, str]:
    """The card's notes (what the store after the cell did), whether Re-execute is
    enabled, and its summary's HTML (where the notes show)."""
    out = k.ok(
        CARD + "print(repr(c.notes))\nprint(not c.button.disabled)\nprint(c.header.value)"
    ).stdout.splitlines()
    return ast.literal_eval(out[0]), out[1] == "True", "\n".join(out[2:])


def _spooled(home: Path) -> list[str]:
    """Captures waiting in the spool (not the HTML uploads kept beside them)."""
    return sorted(p.parent.name for p in (home / "spool").glob("*/entry.json"))


def test_the_run_is_stored_after_the_cell_and_the_card_says_so(
    kernel_factory, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = _kernel(kernel_factory, uri, home)
    r = k.ok("%%repro -e after --name first\nimport mlflow\nmlflow.log_param('lr', 0.1)\n41 + 1")
    assert "42" in r.text()
    assert "nbrepro warning" not in r.stderr, r.stderr
    # The run left MLflow's active-run stack with the cell: the next cell starts clean.
    assert "None" in k.ok("import mlflow\nprint(mlflow.active_run())").stdout
    k.ok(WAIT_UPLOADS)
    status, enabled, _ = _card(k)
    assert status == "" and enabled
    run = latest_run(uri, "after")
    assert run.info.status == "FINISHED" and run.data.params["lr"] == "0.1"
    files = all_artifact_text(uri, run.info.run_id, tmp_path / "dl")
    assert {"nbrepro/repro.json", "nbrepro/replay.ipynb", HTML} <= set(files)
    # The copy kept in the spool while the thread stored it is gone: nothing to sync.
    assert _spooled(home) == []

    # Two captures back to back: the second starts once the first is stored; a kernel
    # closed right after a capture (as papermill does) still stores it whole.
    k.ok("%%repro -e after --name second\nx = 1")
    k.ok("%%repro -e after --name third\nx = 2")
    k.kc.stop_channels()
    k.km.shutdown_kernel(now=False)
    from mlflow import MlflowClient

    runs = MlflowClient(uri).search_runs(
        [run.info.experiment_id], order_by=["attributes.start_time ASC"]
    )
    assert [(r.info.run_name, r.info.status) for r in runs] == [
        ("first", "FINISHED"),
        ("second", "FINISHED"),
        ("third", "FINISHED"),
    ]
    for other in runs[1:]:
        assert "nbrepro/repro.json" in all_artifact_text(uri, other.info.run_id, tmp_path / "d")
    # The copies kept while the thread stored the captures were deleted after.
    assert _spooled(home) == []
    assert list((home / "spool" / ".retired").glob("*")) == []


def test_a_store_that_stops_answering_is_told_on_the_card_not_in_a_later_cell(
    kernel_factory, mlflow_server, tmp_path: Path
) -> None:
    proxy = StoreProxy(mlflow_server.uri).start()
    home = tmp_path / "home"
    try:
        k = _kernel(kernel_factory, proxy.uri, home, timeout=4.0)
        started = time.monotonic()
        r = k.ok(
            "%%repro -e after-hang --name stuck\nimport mlflow, requests\n"
            "mlflow.log_param('lr', 0.1)\n"
            f"requests.get('{proxy.uri}{StoreProxy.HANG_PATH}', timeout=5)"
        )
        returned = time.monotonic() - started
        assert "nbrepro warning" not in r.stderr, r.stderr
        # The store is hanging: the cell returned, the card says the run is being stored.
        status, enabled, _ = _card(k)
        assert "storing the run" in status and not enabled, (status, returned)
        later = k.ok(WAIT_UPLOADS + "\nprint('next cell')")
        assert "nbrepro warning" not in later.stderr, later.stderr
        status, enabled, header = _card(k)
        assert "nbrepro sync" in status and not enabled, status
        assert "Pending" in header and "upload incomplete" in header, header
        proxy.answer_again()
        assert sync_spool(home, proxy.uri)["failed"] == 0
    finally:
        proxy.stop()
    run = latest_run(mlflow_server.uri, "after-hang")
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.1"}
    assert "nbrepro/repro.json" in all_artifact_text(
        mlflow_server.uri, run.info.run_id, tmp_path / "dl"
    )


def test_a_kernel_killed_while_the_thread_stores_leaves_the_capture_to_sync(
    kernel_factory, mlflow_server, tmp_path: Path
) -> None:
    """The capture is in the spool before the store thread waits on the store: killed
    (as jupyter_client kills a kernel that does not close within 5 s), nothing is lost."""
    proxy = StoreProxy(mlflow_server.uri).start()
    home = tmp_path / "home"
    try:
        k = _kernel(kernel_factory, proxy.uri, home, timeout=30.0)
        k.ok(
            "%%repro -e after-kill --name killed\nimport mlflow, requests\n"
            "mlflow.log_param('lr', 0.2)\n"
            f"requests.get('{proxy.uri}{StoreProxy.HANG_PATH}', timeout=5)"
        )
        status, _, _ = _card(k)
        assert "storing the run" in status, status
        assert len(_spooled(home)) == 1
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=True)  # SIGKILL: no exit handler runs
        proxy.answer_again()
        result = sync_spool(home, proxy.uri)
        assert result["failed"] == 0, result
    finally:
        proxy.stop()
    run = latest_run(mlflow_server.uri, "after-kill")
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.2"}
    files = all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "dl")
    assert {"nbrepro/repro.json", "nbrepro/replay.ipynb", HTML} <= set(files)
    assert _spooled(home) == []


def test_a_run_stored_after_the_cell_prints_no_url_or_credential_anywhere(
    kernel_factory, mlflow_server, tmp_path: Path
) -> None:
    """MLflow prints "View run ... at: URL" (the URI as given, credentials included)
    when it ends a run on a server; the store thread ends nbrepro's runs without it,
    and nothing it does lands in the cell or a later one."""
    uri = mlflow_server.uri.replace("http://", "http://alice:pa55word@")
    k = _kernel(kernel_factory, uri, tmp_path / "home")
    replies = [k.ok("%%repro -e after-url --name quiet\nimport mlflow\nmlflow.log_param('a', 1)")]
    replies.append(k.ok(WAIT_UPLOADS))
    replies.append(k.ok("print('a later cell')"))
    status, enabled, header = _card(k)
    assert status == "" and enabled, status
    for r in replies:
        shown = r.text() + r.stderr
        assert "View run" not in shown and "pa55word" not in shown, shown
    assert "pa55word" not in header
    run = latest_run(mlflow_server.uri, "after-url")
    assert run.info.status == "FINISHED" and run.data.params == {"a": "1"}


def test_the_notebook_is_rendered_while_the_cell_runs(kernel_factory, tmp_path: Path) -> None:
    """The worker renders the saved notebook while the %%repro cell runs: the capture's
    own HTML, made after the cell, finds every cell rendered, and is the notebook's."""
    import nbformat
    from nbformat import v4

    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell("# Prerendered\nsome *text*")]
    for i in range(6):
        out = v4.new_output("stream", name="stdout", text=f"step {i} done\n")
        nb.cells.append(v4.new_code_cell(f"print('step {i} done')", execution_count=i + 1))
        nb.cells[-1].outputs = [out]
    path = tmp_path / "work.ipynb"
    path.write_text(nbformat.writes(nb), "utf-8")
    k = _kernel(kernel_factory, uri, home)
    k.ok(f"%config ReproMagics.notebook = {str(path)!r}")
    k.ok("%%repro -e pre --name pre\nx = 1")
    k.ok(WAIT_UPLOADS)
    stats = k.ok(
        "from nbrepro.store import tracking as _t\nfrom nbrepro.capture import htmlpage as _h\n"
        "s = _t.WORKER.submit(_h.last_stats).result(timeout=60)\n"
        "print(s.reused, s.rendered, s.whole)"
    ).stdout.split()
    assert stats == [str(len(nb.cells)), "0", "None"], stats
    run = latest_run(uri, "pre")
    page = all_artifact_text(uri, run.info.run_id, tmp_path / "dl")[HTML]
    assert "Prerendered" in page and "step 5 done" in page


def test_a_notebook_saved_between_cells_is_rendered_before_the_next_capture(
    kernel_factory, tmp_path: Path
) -> None:
    """Once a capture has rendered the notebook, each save (an autosave) is rendered by
    the worker after the next cell: the next capture's HTML finds the saved cells
    rendered, and a cell with nothing saved hands the worker nothing."""
    import nbformat
    from nbformat import v4

    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    path = tmp_path / "work.ipynb"

    def save(n: int) -> None:
        nb = v4.new_notebook()
        nb.cells = [v4.new_code_cell(f"value_{i} = {i}", execution_count=i + 1) for i in range(n)]
        for i, cell in enumerate(nb.cells):  # kept from one save to the next
            cell.id = f"c{i}"
        path.write_text(nbformat.writes(nb), "utf-8")

    save(3)
    k = _kernel(kernel_factory, uri, home)
    k.ok(f"%config ReproMagics.notebook = {str(path)!r}")
    k.ok("%%repro -e saved --name first\nx = 1")
    k.ok(WAIT_UPLOADS)
    ask = (
        "from nbrepro.store import tracking as _t\nfrom nbrepro.capture import htmlpage as _h\n"
        "s = _t.WORKER.submit(_h.last_stats).result(timeout=60)\n"
        "print(s.reused, s.rendered, s.whole)"
    )
    save(9)  # six new cells, saved as JupyterLab autosaves
    k.ok("y = 2")  # the render is handed to the worker after this cell
    assert k.ok(ask).stdout.split() == ["3", "6", "None"]
    k.ok("z = 3")  # nothing saved since: nothing rendered
    assert k.ok(ask).stdout.split() == ["3", "6", "None"]
    k.ok("%%repro -e saved --name second\nx = 2")
    k.ok(WAIT_UPLOADS)
    # The capture found the file rendered since its save: its own render reused all.
    assert k.ok(ask).stdout.split() == ["9", "0", "None"]
    run = latest_run(uri, "saved")
    page = all_artifact_text(uri, run.info.run_id, tmp_path / "dl")[HTML]
    assert "value_8" in page


def test_with_the_spark_connect_client_nothing_lands_in_a_later_cell(
    kernel_factory, tmp_path: Path
) -> None:
    """Issue 16: with pyspark-client installed (no Spark install, the Spark Connect
    user's setup) and imported by the notebook, a capture's background work (the HTML's
    render and upload in nbrepro's worker) wrote PySpark's SPARK_HOME text and a
    SystemExit warning into whichever cell ran next, and lost the HTML."""
    pytest.importorskip("pyspark.sql.connect.session")
    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = _kernel(kernel_factory, uri, home)
    k.ok("import warnings\nwarnings.simplefilter('ignore', FutureWarning)")
    setup = k.ok("from pyspark.sql import SparkSession\nimport pyspark\nprint(pyspark.__version__)")
    assert setup.stderr == ""
    r = k.ok("%%repro -e spark-client --name with-client\nx = 1")
    assert r.stderr == ""
    k.ok(WAIT_UPLOADS)
    later = k.ok("y = 2\nprint('next')")
    assert later.stderr == "" and later.stdout == "next\n"
    status, _, _ = _card(k)
    assert status == ""  # no note of a failure on the card either
    run = latest_run(uri, "spark-client")
    assert HTML in all_artifact_text(uri, run.info.run_id, tmp_path / "dl")
