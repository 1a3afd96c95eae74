"""Where runs go, and failing fast when the store is down."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbrepro import paths
from nbrepro.errors import TrackingUnavailable
from nbrepro.store import tracking
from nbrepro.testing import free_port


def test_default_store_is_one_per_user_location(nbrepro_home: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    uri = tracking.resolve_tracking_uri()
    assert uri == f"sqlite:///{nbrepro_home / 'mlflow.db'}"
    monkeypatch.chdir(Path("/"))
    assert tracking.resolve_tracking_uri() == uri  # independent of the working directory
    assert paths.artifact_root_for(uri) == str(nbrepro_home / "mlartifacts")


def test_home_falls_back_to_xdg(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NBREPRO_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.nbrepro_home() == (tmp_path / "xdg" / "nbrepro").resolve()


def test_env_and_explicit_uri_win(monkeypatch, nbrepro_home: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert tracking.resolve_tracking_uri() == "http://127.0.0.1:1"
    assert tracking.resolve_tracking_uri("sqlite:////x.db") == "sqlite:////x.db"


def test_unreachable_server_fails_fast_without_credentials_in_message() -> None:
    uri = f"http://user:hunter2hunter2@127.0.0.1:{free_port()}"
    with pytest.raises(TrackingUnavailable) as info:
        tracking.check_reachable(uri, timeout=1.0)
    assert "hunter2hunter2" not in str(info.value)
    assert "cannot connect" in str(info.value)


def test_sqlite_store_in_unwritable_place_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TrackingUnavailable, match="cannot create"):
        tracking.check_reachable(f"sqlite:///{blocker / 'sub' / 'mlflow.db'}")


def test_experiments_on_local_store_keep_artifacts_next_to_the_db(nbrepro_home: Path) -> None:
    uri = paths.default_tracking_uri()
    tracking.check_reachable(uri)
    client = tracking.client_for(uri)
    exp_id = tracking.ensure_experiment(client, uri, "my exp/1")
    assert tracking.ensure_experiment(client, uri, "my exp/1") == exp_id
    location = client.get_experiment(exp_id).artifact_location
    assert location.endswith("mlartifacts/my_exp_1")
    assert str(nbrepro_home) in location


def _open_store(uri: str) -> str:
    from nbrepro.store.tracking import client_for

    client_for(uri).search_experiments()
    return "ok"


def test_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path: Path) -> None:
    # On first use a kernel's capture and the Jupyter server's runs list create the
    # store together; MLflow's schema migration must not fail one of them.
    import multiprocessing

    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        # A worker that exits (pyspark-client once did, under MLflow) loses its task: bounded.
        assert pool.map_async(_open_store, [uri] * 4).get(timeout=180) == ["ok"] * 4


def test_a_store_is_complete_only_with_every_table_of_mlflow(tmp_path: Path) -> None:
    import sqlite3
    import time

    partial = tmp_path / "partial.db"
    with sqlite3.connect(partial) as con:
        con.execute("CREATE TABLE experiments (id INTEGER)")
    assert not tracking.sqlite_store_complete(partial)
    assert not tracking.sqlite_store_complete(tmp_path / "missing.db")
    # A store left half made (or an older MLflow's) is not waited for past a second of
    # no change.
    started = time.monotonic()
    tracking._wait_while_made_elsewhere(partial)
    assert time.monotonic() - started < tracking.SCHEMA_WAIT_S
    uri = f"sqlite:///{tmp_path / 'made' / 'mlflow.db'}"
    _open_store(uri)
    made = paths.sqlite_path(uri)
    assert made is not None and tracking.sqlite_store_complete(made)


def test_a_url_that_is_not_an_mlflow_server_is_said_so_not_no_such_run() -> None:
    """A proxy or a wrong path answers 404 with a page, not MLflow's JSON: that is a
    wrong tracking URI (TrackingUnavailable), not a missing run (RunNotFound)."""
    import http.server
    import threading

    from nbrepro.errors import TrackingUnavailable
    from nbrepro.store.runs import RunNotFound, load_run

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>Not Found</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/not-mlflow"
        with pytest.raises(TrackingUnavailable, match="404 Not Found") as err:
            load_run("a" * 32, uri)
        assert not isinstance(err.value, RunNotFound)
    finally:
        server.shutdown()
