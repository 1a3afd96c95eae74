"""The spool between processes: a capture a kernel is still writing is left alone by
sync, one sync runs at a time, an upload the worker finished is never resurrected, and
what a failing store said is kept and shown without its credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbrepro import paths
from nbrepro.errors import NbreproError
from nbrepro.record.bundle import LogBundle
from nbrepro.store import spool, tracking


@pytest.fixture
def store(nbrepro_home: Path, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"


def _run_in(uri: str) -> str:
    client = tracking.client_for(uri)
    exp = tracking.ensure_experiment(client, uri, "spooled")
    return str(client.create_run(exp).info.run_id)


def _bundle_entry(uri: str, run_id: str, capture_id: str = "c-1") -> spool.SpoolEntry:
    bundle = LogBundle({"nbrepro.kind": "test"}, {"nbrepro/a.txt": b"kept"}, [], {"p": "1"})
    return spool.spool_bundle(
        capture_id, uri, "spooled", "the store failed", run_id, bundle, "FINISHED"
    )


def test_sync_leaves_a_capture_its_kernel_is_still_writing(store: str) -> None:
    run_id = _run_in(store)
    entry = _bundle_entry(store, run_id)
    # This process is the "kernel": it has not said it is done with the entry.
    [busy] = spool.sync_all(store)
    assert busy.busy and not busy.ok and "still being written" in busy.message
    assert busy.line().startswith("left for later")
    assert (entry.folder / spool.ENTRY_FILE).is_file()
    assert tracking.client_for(store).get_run(run_id).data.params == {}

    spool.done_writing(entry.folder)
    [done] = spool.sync_all(store)
    assert done.ok and done.removed and done.run_id == run_id
    run = tracking.client_for(store).get_run(run_id)
    assert run.data.params == {"p": "1"} and run.info.status == "FINISHED"
    assert not entry.folder.exists()


def test_one_sync_at_a_time(store: str) -> None:
    entry = _bundle_entry(store, _run_in(store))
    spool.done_writing(entry.folder)
    other = paths.try_lock(paths.spool_dir() / spool.SYNC_LOCK)
    assert other is not None
    try:
        with pytest.raises(NbreproError, match="another `nbrepro sync`"):
            spool.sync_all(store)
    finally:
        other.close()
    assert [r.ok for r in spool.sync_all(store)] == [True]


def test_an_upload_the_worker_finished_is_not_brought_back(store: str) -> None:
    run_id = _run_in(store)
    up = spool.save_upload("c-2", store, run_id, "nbrepro/notebook.html", b"{}")
    # Sync leaves it to the kernel's worker while the kernel holds it.
    [busy] = spool.sync_all(store)
    assert busy.busy and busy.artifact == "nbrepro/notebook.html"
    # The worker logged it (and removed the folder); the kernel's failure callback
    # that races it must not create the folder again.
    spool.upload_done(str(up.folder))
    up.last_error = "late"
    up.save()
    assert not up.folder.exists()
    spool.done_writing(up.folder)
    assert spool.sync_all(store) == []


def test_an_upload_whose_source_is_gone_is_done(store: str) -> None:
    run_id = _run_in(store)
    up = spool.save_upload("c-3", store, run_id, "nbrepro/notebook.html", b"{}")
    spool.done_writing(up.folder)
    (up.folder / spool.UPLOAD_SOURCE).unlink()  # as an older nbrepro could leave it
    [result] = spool.sync_all(store)
    assert result.ok and result.removed
    assert not up.folder.exists()


def test_what_a_failing_store_said_keeps_no_credentials(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbrepro.store.session import RunOptions, RunSession

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-3e1f9a77c0")
    session = RunSession(RunOptions(tracking_uri="http://alice:pa55word@127.0.0.1:9"), "c-4")
    session.tracking_uri = "http://alice:pa55word@127.0.0.1:9"
    session._go_offline(
        "MlflowException: API request to http://alice:pa55word@127.0.0.1:9/api/2.0 failed "
        "(Authorization: Bearer tok-3e1f9a77c0)"
    )
    try:
        assert session.offline_reason is not None and session.entry is not None
        for text in (session.offline_reason, (session.entry.folder / "entry.json").read_text()):
            assert "pa55word" not in text and "tok-3e1f9a77c0" not in text
        assert "127.0.0.1:9" in session.offline_reason
    finally:
        import mlflow

        mlflow.end_run()
        session.close()


def test_a_capture_kept_while_stored_leaves_the_spool_whole_once_stored(store: str) -> None:
    """store_after_cell's copy: the run's files are logged from it (not written again),
    then it leaves the spool in one rename; one left behind by a kernel killed before
    deleting it is deleted by the next sync, which logs nothing again."""
    import mlflow

    from nbrepro.store.session import RunOptions, RunSession

    files = {"nbrepro/repro.json": b'{"a": 1}', "nbrepro/deep/er.txt": b"\x00bytes"}
    bundle = LogBundle({"nbrepro.kind": "test"}, files, [], {"p": "1"})
    sessions = []
    for capture_id in ("c-kept", "c-killed"):
        session = RunSession(RunOptions(tracking_uri=store, experiment="kept"), capture_id)
        session.start()
        assert session.detach()
        session.keep_until_stored(bundle, "FINISHED")
        assert (paths.spool_dir() / capture_id / spool.ENTRY_FILE).is_file()
        result = session.finish(bundle, "FINISHED")
        session.close()
        assert result.logged and result.warning is None and result.spool_entry is None
        assert spool.load_entries(include_synced=True) == []
        sessions.append(session)
    retired = paths.spool_dir() / spool.RETIRED_DIR
    assert len(list(retired.iterdir())) == 2
    sessions[0].tidy()
    assert len(list(retired.iterdir())) == 1  # the other kernel was killed before tidy

    client = tracking.client_for(store)
    for session in sessions:
        run = client.get_run(session.run_id)
        assert run.info.status == "FINISHED" and run.data.params == {"p": "1"}
        local = Path(mlflow.artifacts.download_artifacts(run.info.artifact_uri))
        logged = {
            str(p.relative_to(local)): p.read_bytes() for p in local.rglob("*") if p.is_file()
        }
        assert logged == files
    assert spool.sync_all(store) == []
    assert list(retired.iterdir()) == []
