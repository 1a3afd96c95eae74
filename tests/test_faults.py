"""Faults of the tracking store, seen from a real kernel's cell: a server killed or
hanging mid-capture, a server that never answers, a failed or interrupted background
upload, a kernel closed right after a capture. Nothing captured is lost, no cell waits
longer than the store timeout, no credential reaches the spool or the user's output."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import all_artifact_text, latest_run, process_gone, store_kernel, sync_spool

from nbrepro.testing import MlflowServer, StoreProxy, held_by_capture

pytestmark = [pytest.mark.server, pytest.mark.kernel]

# Short, so that the tests are quick; the default is 10 s.
BOUND = 4.0
# What a capture takes besides waiting for the store (assembling, spooling to a new
# SQLite store) on a loaded 2-core machine. Before bounding, these cells took minutes.
SLACK = 12.0
HTML = "nbrepro/notebook.html"


# Where a capture is stored: by a kernel thread after the cell returns (the default), or
# in the cell, as without the card, for sidebar captures and in `nbrepro run` kernels.
AFTER, IN_CELL = "after the cell", "in the cell"
WHERE = pytest.mark.parametrize("where", [AFTER, IN_CELL])


def _kernel(kernel_factory: Any, uri: str, home: Path, where: str = AFTER) -> Any:
    setup = () if where == AFTER else ("%config ReproMagics.store_after_cell = False",)
    return store_kernel(kernel_factory, uri, home, BOUND, *setup)


def _timed(k: Any, cell: str) -> tuple[Any, float]:
    """Run a %%repro cell; the reply and how long the capture held the cell (its own
    time: not the wait for a store after it, which the kernel does next)."""
    settle, k.settle = k.settle, False
    try:
        return held_by_capture(k, cell, timeout=600)
    finally:
        k.settle = settle
        if settle:
            k.execute(k.SETTLE, timeout=600)


def _told(k: Any, r: Any, where: str) -> tuple[str, str]:
    """The one warning a failed store gave, and the summary shown: in the cell's output
    for a capture stored in the cell; on the card, never in the cell's (or a later
    cell's) output, for one stored after it."""
    if where == IN_CELL:
        return _one_warning(r), r.text()
    assert "nbrepro warning" not in r.stderr, r.stderr
    later = k.ok("print('a later cell')")
    assert "nbrepro warning" not in later.stderr, later.stderr
    out = k.ok(
        "c = get_ipython()._nbrepro_state.last_card\n"
        "print(c.notes)\nprint('---')\nprint(c.header.value)"
    ).stdout
    status, _, header = out.partition("---")
    return status.strip(), header


def _one_warning(r: Any) -> str:
    warnings = [x for x in r.stderr.splitlines() if "nbrepro warning" in x]
    assert len(warnings) == 1, r.stderr
    assert "nbrepro warning: nbrepro" not in warnings[0]
    assert "Creating initial MLflow database" not in r.stderr, r.stderr
    assert "alembic" not in r.stderr.lower(), r.stderr
    return warnings[0]


def _wait_for_artifact(uri: str, run_id: str, path: str, dst: Path, within: float) -> bool:
    deadline = time.time() + within
    while time.time() < deadline:
        if path in all_artifact_text(uri, run_id, dst):
            return True
        time.sleep(1.0)
    return False


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """A private `mlflow server`: these tests kill it."""
    s = MlflowServer(tmp_path / "server")
    s.start()
    yield s
    s.stop()


@WHERE
def test_server_killed_mid_body_holds_the_cell_at_most_the_bound_and_sync_completes_the_run(
    kernel_factory, server: MlflowServer, tmp_path: Path, where: str
) -> None:
    home = tmp_path / "home"
    k = _kernel(kernel_factory, server.uri, home, where)
    assert server.proc is not None
    pid = server.proc.pid
    r, blocked = _timed(
        k,
        "%%repro -e killed --name lost\nimport mlflow, os, signal, time, requests\n"
        "mlflow.log_metric('before', 1.0)\n"
        f"os.killpg({pid}, signal.SIGKILL)\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        requests.get('{server.uri}/health', timeout=0.5)\n"
        "        time.sleep(0.2)\n"
        "    except requests.RequestException:\n"
        "        break",
    )
    assert r.status == "ok"
    assert blocked < BOUND + SLACK, blocked
    warning, summary = _told(k, r, where)
    assert "nbrepro sync" in warning
    assert "upload incomplete" in summary
    server.proc.wait(timeout=30)
    server.proc = None
    server.start()

    synced = sync_spool(home, server.uri)
    assert synced["failed"] == 0 and synced["uploaded"] >= 1
    run = latest_run(server.uri, "killed")
    assert [c["run_id"] for c in synced["captures"] if c["artifact"] is None] == [run.info.run_id]
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"before": 1.0}
    files = all_artifact_text(server.uri, run.info.run_id, tmp_path / "dl")
    for name in ("nbrepro/repro.json", "nbrepro/replay.ipynb", HTML):
        assert name in files
    assert not any((home / "spool").glob("*/entry.json"))  # removed once uploaded


def test_server_hanging_mid_body_holds_the_cell_at_most_the_bound(
    kernel_factory, mlflow_server, tmp_path: Path
) -> None:
    proxy = StoreProxy(mlflow_server.uri).start()
    home = tmp_path / "home"
    try:
        # Stored after the cell: test_store_after_cell.py (the card says it).
        k = _kernel(kernel_factory, proxy.uri, home, IN_CELL)
        r, blocked = _timed(
            k,
            "%%repro -e hanging --name stuck\nimport mlflow, requests\n"
            "mlflow.log_param('lr', 0.1)\n"
            f"requests.get('{proxy.uri}{StoreProxy.HANG_PATH}', timeout=5)",
        )
        assert r.status == "ok"
        assert blocked < BOUND + SLACK, blocked
        assert "nbrepro sync" in _one_warning(r)
        assert "upload incomplete" in r.text()
        proxy.answer_again()
        synced = sync_spool(home, proxy.uri)
    finally:
        proxy.stop()
    run = latest_run(mlflow_server.uri, "hanging")
    assert synced["failed"] == 0
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.1"}
    assert HTML in all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "dl")


@WHERE
def test_async_logging_to_a_store_that_stops_answering_holds_the_cell_at_most_the_bound(
    kernel_factory, mlflow_server, tmp_path: Path, where: str
) -> None:
    # Ending a run first sends what MLflow's async queue holds, one request after another:
    # before, the cell waited for all of them (minutes against a hanging server).
    proxy = StoreProxy(mlflow_server.uri).start()
    try:
        k = kernel_factory(
            env={
                "MLFLOW_TRACKING_URI": proxy.uri,
                "NBREPRO_HOME": str(tmp_path / "home"),
                "NBREPRO_STORE_TIMEOUT": str(BOUND),
                "MLFLOW_ENABLE_ASYNC_LOGGING": "true",
            }
        )
        k.ok("%load_ext nbrepro")
        if where == IN_CELL:
            k.ok("%config ReproMagics.store_after_cell = False")
        r, blocked = _timed(
            k,
            "%%repro -e async-hang --name queued\nimport mlflow, requests\n"
            "mlflow.log_metric('before', 1.0, synchronous=False)\n"
            f"requests.get('{proxy.uri}{StoreProxy.HANG_PATH}', timeout=5)\n"
            "for i in range(5):\n"
            "    mlflow.log_metric('after', float(i), step=i, synchronous=False)",
        )
        assert r.status == "ok", r.stderr
        assert blocked < BOUND + SLACK, blocked
        assert "nbrepro sync" in _told(k, r, where)[0]
        # The run left MLflow's active-run stack: the next cell starts clean.
        assert "None" in k.ok("import mlflow; print(mlflow.active_run())").stdout
    finally:
        proxy.stop()


def test_server_that_never_answers_spools_at_once_without_credentials_or_a_false_run_id(
    kernel_factory, mlflow_server, tmp_path: Path
) -> None:
    proxy = StoreProxy(mlflow_server.uri, hang=True).start()
    secret_uri = proxy.uri.replace("http://", "http://alice:pa55word@")
    home = tmp_path / "home"
    try:
        k = _kernel(kernel_factory, secret_uri, home)
        r, blocked = _timed(
            k, "%%repro -e silent --name quiet\nimport mlflow\nmlflow.log_metric('m', 2.0)"
        )
        assert r.status == "ok"
        assert blocked < BOUND + SLACK, blocked
        warning = _one_warning(r)
        assert "unreachable" in warning
        shown = r.text()
        assert "not uploaded" in shown
        spooled = list((home / "spool").glob("*/entry.json"))
        assert len(spooled) == 1
        local_id = json.loads(spooled[0].read_text())["local_run_id"]
        # The spool's local run id is not shown as if it were the run's.
        assert local_id not in shown
        for text in (shown, *(p.read_text() for p in (home / "spool").rglob("*.json"))):
            assert "pa55word" not in text
        proxy.answer_again()
        synced = sync_spool(home, secret_uri)
    finally:
        proxy.stop()
    run = latest_run(mlflow_server.uri, "silent")
    [entry] = synced["captures"]
    assert entry["run_id"] == run.info.run_id and entry["local_run_id"] == local_id
    assert entry["removed"] is True and entry["tracking_uri"] == proxy.uri
    assert "pa55word" not in json.dumps(synced)
    assert run.data.metrics == {"m": 2.0}
    assert HTML in all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "dl")
    assert not (home / "spool" / run.info.run_id).exists()
    assert not list((home / "spool").glob("*/entry.json"))


def test_notebook_html_survives_the_kernel_closing_right_after_the_capture(
    kernel_factory, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = _kernel(kernel_factory, uri, home)
    k.ok("%%repro -e closing --name last\nx = 1")
    # As `nbconvert --execute` and papermill do after the last cell.
    k.kc.stop_channels()
    k.km.shutdown_kernel(now=False)
    run = latest_run(uri, "closing")
    # The worker, in a session of its own, survives the kernel's process group being
    # signalled; if it did not get the job before the kernel died, sync does it.
    if not _wait_for_artifact(uri, run.info.run_id, HTML, tmp_path / "dl", within=30):
        synced = sync_spool(home, uri)
        assert [c["artifact"] for c in synced["captures"]] == [HTML]
    assert HTML in all_artifact_text(uri, run.info.run_id, tmp_path / "dl2")
    deadline = time.time() + 30
    while any((home / "spool").glob("uploads/*/upload.json")) and time.time() < deadline:
        time.sleep(0.5)
    assert not any((home / "spool").glob("uploads/*/upload.json"))


def test_a_failed_html_upload_is_kept_and_uploaded_bysync_spool(
    kernel_factory, mlflow_server, tmp_path: Path
) -> None:
    proxy = StoreProxy(mlflow_server.uri, fail_paths=("notebook.html",)).start()
    home = tmp_path / "home"
    try:
        k = _kernel(kernel_factory, proxy.uri, home)
        r = k.ok("%%repro -e failing-html --name nohtml\nx = 1")
        k.ok("from nbrepro.store import tracking; assert tracking.wait_for_uploads(120)")
        # Said on the card (the run itself is stored), never in this or a later cell.
        notes, _ = _told(k, r, AFTER)
        assert "notebook.html" in notes and "nbrepro sync" in notes, notes
        run = latest_run(mlflow_server.uri, "failing-html")
        assert HTML not in all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "a")
        [pending] = (home / "spool").glob("uploads/*/upload.json")
        assert json.loads(pending.read_text())["last_error"]
        proxy.fail_paths = ()
        synced = sync_spool(home, proxy.uri)
    finally:
        proxy.stop()
    assert [c["artifact"] for c in synced["captures"]] == [HTML]
    assert HTML in all_artifact_text(mlflow_server.uri, run.info.run_id, tmp_path / "b")
    assert not any((home / "spool").glob("uploads/*/upload.json"))


def _worker_pid(k: Any) -> int:
    r = k.ok(
        "from nbrepro.store import tracking as _t\n"
        "assert _t.wait_for_uploads(120)\n"
        "print(_t.WORKER.pid())"
    )
    [pid] = r.stdout.split()
    return int(pid)


def test_the_upload_worker_is_replaced_when_it_dies_and_ends_with_its_kernel(
    kernel_factory, tmp_path: Path
) -> None:
    import signal

    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    k = _kernel(kernel_factory, uri, home)
    k.ok("%%repro -e worker --name first\nx = 1")
    first = _worker_pid(k)
    # It holds none of the kernel's streams: a pipe someone reads to its end (a
    # terminal, a CI log) is not kept open by it once the kernel is gone.
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{first}/fd/{fd}") == os.devnull
    # Killed (out of memory, say): the next capture's cell is not hurt by the broken pool.
    os.kill(first, signal.SIGKILL)
    assert process_gone(first, 10)
    k.ok(
        "import time\nfrom nbrepro.store import tracking as _t\n"
        "for _ in range(100):\n"
        "    if _t.WORKER.pid() is None: break\n"
        "    time.sleep(0.1)"
    )
    r = k.ok("%%repro -e worker --name second\ny = 2")
    assert "Traceback" not in r.stderr, r.stderr
    second = _worker_pid(k)
    assert second != first
    run = latest_run(uri, "worker")
    assert run.info.run_name == "second"
    assert HTML in all_artifact_text(uri, run.info.run_id, tmp_path / "dl")
    # The kernel dies without closing anything: its worker, idle, does not live on.
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)
    assert process_gone(second, 15), "the upload worker outlived its kernel"
