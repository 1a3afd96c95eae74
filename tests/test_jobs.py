"""Rerun jobs on real parts: `nbrepro rerun` processes, their files, their process groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers import write_notebook

from nbrepro import paths
from nbrepro.jobs import procs
from nbrepro.jobs.manager import JobManager, JobRequestError, RerunRequest
from nbrepro.jobs.state import Job, JobNotFound, JobUnreadable, cli_error, utcnow

pytestmark = pytest.mark.kernel

SLOW_CELL = "import pathlib, time\ntime.sleep(float(pathlib.Path('delay.txt').read_text()))"


def wait_for(manager: JobManager, job_id: str, condition, timeout: float = 180) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = manager.get(job_id)
        if condition(job):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} never got there: {manager.get(job_id).to_json()}")


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def slow_run(tmp_path: Path, nbrepro_home: Path) -> tuple[str, Path]:
    """A captured run whose first cell sleeps as long as delay.txt says (0 when captured)."""
    from nbrepro.reproduce.headless import run_notebook

    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "delay.txt").write_text("0")
    nb = write_notebook(folder / "slow.ipynb", [("a", SLOW_CELL), ("b", "print('done')")])
    # Named: an earlier capture in this process set mlflow's tracking URI to its store.
    return run_notebook(nb, tracking_uri=paths.default_tracking_uri()).run_id, folder


def test_queue_bound_cancel_and_restart(slow_run: tuple[str, Path], tmp_path: Path) -> None:
    run_id, folder = slow_run
    (folder / "delay.txt").write_text("300")
    jobs = tmp_path / "jobs"
    manager = JobManager(jobs, max_concurrent=1, kill_grace=20)
    first = manager.submit(RerunRequest(run_id=run_id))
    second = manager.submit(RerunRequest(run_id=run_id))
    assert manager.get(first.job_id).state == "running"
    assert manager.get(second.job_id).to_json()["progress"]["phase"] == "queued"

    running = wait_for(
        manager,
        first.job_id,
        lambda j: j.progress()["phase"] == "executing" and j.progress()["cells_total"],
    )
    assert manager.get(second.job_id).state == "queued"  # the bound holds while the first runs
    leader = psutil.Process(running.process["pid"])
    tree = [leader, *leader.children(recursive=True)]
    assert len(tree) >= 2, "the rerun should have started its kernel"

    # Cancelled from another manager on the same folder (a kernel's card, the server).
    other = JobManager(jobs)
    assert other.cancel(first.job_id).state == "cancelled"
    done = wait_for(manager, first.job_id, lambda j: j.exit_code is not None, timeout=60)
    assert done.state == "cancelled"
    deadline = time.monotonic() + 30
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in tree), "the rerun or its kernel survived the cancel"
    with pytest.raises(ProcessLookupError):
        os.killpg(leader.pid, 0)

    # The slot freed: the queued job starts; cancelling it stops it too.
    wait_for(manager, second.job_id, lambda j: j.state == "running", timeout=30)
    manager.cancel(second.job_id)
    wait_for(manager, second.job_id, lambda j: j.exit_code is not None, timeout=60)

    # A new manager (a restarted server) lists both, newest first, as they ended.
    listed = JobManager(jobs).list(run_id=run_id)
    assert [j.job_id for j in listed] == [second.job_id, first.job_id]
    assert {j.state for j in listed} == {"cancelled"}
    assert JobManager(jobs).list(run_id="0" * 32) == []


def test_a_job_repeats_the_rerun_it_is_asked_to(slow_run: tuple[str, Path], tmp_path: Path) -> None:
    """``repeat`` (the sidebar's "Times") reaches ``nbrepro rerun --repeat``: the job's
    report compares the reruns with each other."""
    run_id, folder = slow_run
    (folder / "delay.txt").write_text("0")
    manager = JobManager(tmp_path / "jobs")
    job = manager.submit(RerunRequest(run_id=run_id, repeat=2))
    done = wait_for(manager, job.job_id, lambda j: j.finished, timeout=300)
    assert done.state == "succeeded", done.to_json()["log_tail"]
    report = done.to_json()["report"]
    assert report["repeat"]["agree"] is True and len(report["repeat"]["runs"]) == 2
    assert done.to_json()["options"]["repeat"] == 2


def test_unknown_run_fails_with_the_cli_message(tmp_path: Path, nbrepro_home: Path) -> None:
    manager = JobManager(tmp_path / "jobs")
    job = manager.submit(RerunRequest(run_id="0" * 32))
    done = wait_for(manager, job.job_id, lambda j: j.finished, timeout=120)
    assert done.state == "failed" and done.exit_code == 2
    assert done.error is not None and f"no run {'0' * 32}" in done.error
    body = done.to_json()
    assert body["report"] is None and body["verdict"] is None
    assert any("Error:" in line for line in body["log_tail"])


def test_requests_are_checked() -> None:
    good = RerunRequest.from_json({"run_id": "a" * 32, "tolerance": 0.01})
    assert good.argv()[-2:] == ["--tolerance", "0.01"]
    assert "--repeat" not in good.argv() and good.options()["repeat"] == 1
    thrice = RerunRequest.from_json({"run_id": "a" * 32, "repeat": 3})
    assert thrice.argv()[-2:] == ["--repeat", "3"] and thrice.options()["repeat"] == 3
    for body, fragment in [
        ([], "JSON object"),
        ({"run_id": "nope"}, "not an MLflow run id"),
        ({"run_id": "a" * 32, "env": "other"}, "env must be one of"),
        ({"run_id": "a" * 32, "data": "yesterday"}, "data must be one of"),
        ({"run_id": "a" * 32, "tolerance": -1}, "non-negative"),
        ({"run_id": "a" * 32, "tolerance": "0.1"}, "non-negative"),
        ({"run_id": "a" * 32, "tolerance": True}, "non-negative"),
        ({"run_id": "a" * 32, "allow_missing": "yes"}, "true or false"),
        ({"run_id": "a" * 32, "allow_missing": True}, "env 'recorded' only"),
        ({"run_id": "a" * 32, "allowMissing": True}, "unknown field"),
        ({"run_id": "a" * 32, "repeat": 0}, "repeat must be a whole number of reruns from 1"),
        ({"run_id": "a" * 32, "repeat": 11}, "from 1 to 10"),
        ({"run_id": "a" * 32, "repeat": 2.5}, "from 1 to 10"),
        ({"run_id": "a" * 32, "repeat": True}, "from 1 to 10"),
        ({"run_id": "a" * 32, "repeat": "2"}, "from 1 to 10"),
    ]:
        with pytest.raises(JobRequestError, match=fragment):
            RerunRequest.from_json(body)


def test_bad_and_unknown_job_ids(tmp_path: Path) -> None:
    manager = JobManager(tmp_path / "jobs")
    with pytest.raises(JobRequestError):
        manager.get("../etc")
    with pytest.raises(JobNotFound):
        manager.cancel("f" * 32)


def _job(folder: Path, job_id: str = "c" * 32, **fields) -> Job:
    (folder / job_id).mkdir(parents=True)
    job = Job(
        job_id=job_id,
        run_id="a" * 32,
        options={"env": "current", "data": "pinned", "tolerance": None, "allow_missing": False},
        folder=folder / job_id,
        created_at=utcnow(),
        **fields,
    )
    job.save()
    return job


def _ended_process() -> dict:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    ident = procs.identity(proc.pid)
    proc.wait()
    return ident


def test_a_job_whose_owner_died_is_settled_from_its_files(tmp_path: Path) -> None:
    """A restarted server: the rerun ended while nobody waited for it."""
    dead = _ended_process()
    job = _job(tmp_path, state="running", owner=dead, process=_ended_process())
    report = {"run_id": "b" * 32, "reproduces": "a" * 32, "verdict": "differs", "differs": []}
    (job.folder / "output.json").write_text(json.dumps(report))
    seen = JobManager(tmp_path).get(job.job_id)
    assert (seen.state, seen.verdict, seen.rerun_run_id) == ("succeeded", "differs", "b" * 32)
    assert seen.exit_code is None and seen.to_json()["report"]["verdict"] == "differs"
    assert Job.load(job.folder).state == "succeeded"  # settled once, for every reader


def test_an_orphan_without_report_fails_and_a_queued_orphan_never_starts(tmp_path: Path) -> None:
    dead = _ended_process()
    job = _job(tmp_path, state="running", owner=dead, process=_ended_process())
    seen = JobManager(tmp_path).get(job.job_id)
    assert seen.state == "failed" and "ended before the rerun finished" in (seen.error or "")
    queued = _job(tmp_path, "d" * 32, state="queued", owner=dead)
    seen = JobManager(tmp_path).get(queued.job_id)
    assert seen.state == "failed" and "never started" in (seen.error or "")


def test_exit_codes_map_to_states(tmp_path: Path) -> None:
    job = _job(tmp_path, state="running", owner=procs.identity(os.getpid()))
    (job.folder / "log.txt").write_text("Traceback ...\nKeyError: 'x'\n")
    job.settle(1)  # "differs" exit, but no report: never shown as completed
    assert job.state == "failed" and "exited with code 1" in (job.error or "")
    job.state, job.finished_at = "running", None
    job.settle(-15)  # SIGTERM from outside nbrepro: stopped, not broken
    assert job.state == "cancelled" and job.error == "stopped by SIGTERM"
    job.state, job.finished_at = "running", None
    job.settle(-9)  # not a Cancel (that state comes first): say it was killed
    assert job.state == "failed" and "out of memory" in (job.error or "")
    assert (
        cli_error(["warn", "Error: the data is gone:", "  - t v0"]) == "the data is gone:\n  - t v0"
    )


@pytest.mark.server
def test_a_rerun_against_a_tracking_server_succeeds(
    mlflow_server, tmp_path: Path, nbrepro_home: Path
) -> None:
    """MLflow prints "View run ... at" to stdout for an HTTP store: the report must still parse."""
    from nbrepro.reproduce.headless import run_notebook

    nb = write_notebook(tmp_path / "srv.ipynb", [("a", "x = 1"), ("b", "print(x)")])
    run_id = run_notebook(nb, tracking_uri=mlflow_server.uri).run_id
    manager = JobManager(tmp_path / "jobs")
    job = manager.submit(RerunRequest(run_id=run_id, tracking_uri=mlflow_server.uri))
    done = wait_for(manager, job.job_id, lambda j: j.finished, timeout=180)
    assert (done.state, done.verdict, done.error) == ("succeeded", "reproduced", None)
    assert done.to_json()["report"]["verdict"] == "reproduced"


def test_the_log_tail_and_error_keep_no_uri_credentials(tmp_path: Path) -> None:
    job = _job(tmp_path, state="running", owner=procs.identity(os.getpid()))
    (job.folder / "log.txt").write_text(
        "🏃 View run r at: https://me:s3cret@mlflow.example.com/#/experiments/1\n"
        "Error: cannot reach https://me:s3cret@mlflow.example.com\n"
    )
    job.settle(2)
    assert "s3cret" not in json.dumps(job.to_json())
    assert job.error == "cannot reach https://mlflow.example.com"


def test_a_damaged_job_file_is_left_out_of_the_list(tmp_path: Path) -> None:
    good = _job(tmp_path, state="succeeded", owner=procs.identity(os.getpid()))
    bad = _job(tmp_path, "e" * 32, state="queued", owner=procs.identity(os.getpid()))
    (bad.folder / "job.json").write_text("{not json")
    manager = JobManager(tmp_path)
    assert [j.job_id for j in manager.list()] == [good.job_id]
    with pytest.raises(JobUnreadable, match="unreadable"):
        manager.get(bad.job_id)


def test_a_vacuumed_pin_fails_the_job_with_a_reason_a_client_can_act_on(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    """The run details mark the version before a click; the pinned rerun's job fails
    saying why in a field (the sidebar's "Re-execute on latest data"), the CLI's words
    say the way out once; the same rerun on the latest data runs."""
    import pandas as pd
    from deltalake import DeltaTable, write_deltalake
    from helpers import api_check, nbrepro_cli

    from nbrepro.capture.delta.drift import table_drift
    from nbrepro.reproduce.headless import run_notebook
    from nbrepro.store.runs import load_run

    table = str(tmp_path / "lake" / "wine")
    write_deltalake(table, pd.DataFrame({"x": range(20)}))
    nb = write_notebook(
        tmp_path / "read.ipynb",
        [("a", f"from deltalake import DeltaTable\nprint(len(DeltaTable({table!r}).to_pandas()))")],
    )
    uri = paths.default_tracking_uri()
    run_id = run_notebook(nb, tracking_uri=uri).run_id
    write_deltalake(table, pd.DataFrame({"x": range(5)}), mode="overwrite")
    DeltaTable(table).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)

    (row,) = table_drift(load_run(run_id, uri).record["data"]["reads"])
    pin = api_check(row, "TableDrift")["pin"]
    assert (row["state"], pin["readable"], pin["reason"]) == ("moved", False, "files_missing")
    shown = nbrepro_cli("show", run_id)
    assert "v0 can no longer be pinned: 1 of 1 data files are missing" in shown.stdout

    manager = JobManager(tmp_path / "jobs")
    job = manager.submit(RerunRequest(run_id=run_id))
    done = wait_for(manager, job.job_id, lambda j: j.finished, timeout=120)
    body = api_check(done.to_json(), "Job")
    assert body["state"] == "failed" and body["exit_code"] == 2
    reason = body["error_reason"]
    assert reason["code"] == "pinned-data-unavailable"
    assert [(t["uri"], t["version"], t["kind"]) for t in reason["tables"]] == [
        (table, 0, "files_missing")
    ]
    assert (body["error"] or "").count("--data latest") == 1
    assert Job.load(done.folder).error_reason == reason  # kept for every reader

    latest = manager.submit(RerunRequest(run_id=run_id, data="latest"))
    ran = wait_for(manager, latest.job_id, lambda j: j.finished, timeout=180)
    assert ran.state == "succeeded", ran.to_json()["log_tail"]
    assert ran.to_json()["error_reason"] is None
    (moved,) = ran.to_json()["report"]["sections"]["data"]["tables"]
    assert moved["changes"]["commits"][-1]["operation"] in ("WRITE", "VACUUM END")


def test_an_error_reason_carries_no_credentials(tmp_path: Path) -> None:
    """Like ``error`` and the log: the reason's URIs and messages are served and shown."""
    from nbrepro.jobs.state import OUTPUT_FILE, Job

    folder = tmp_path / "j"
    folder.mkdir()
    reason = {
        "code": "pinned-data-unavailable",
        "tables": [
            {
                "uri": "s3://key:s3cret@lake/orders",
                "version": 0,
                "kind": "files_missing",
                "detail": "GET https://me:tok3n@minio.local/lake/orders/part-0.parquet: 404",
            }
        ],
    }
    (folder / OUTPUT_FILE).write_text(json.dumps({"error": "x", "reason": reason}))
    job = Job(job_id="j", run_id="r", options={}, folder=folder, created_at="now")
    said = job._error_reason()
    assert said is not None and said["code"] == "pinned-data-unavailable"
    (table,) = said["tables"]
    assert "s3cret" not in json.dumps(said) and "tok3n" not in json.dumps(said)
    assert "lake/orders" in table["uri"] and table["version"] == 0
    assert "minio.local/lake/orders/part-0.parquet: 404" in table["detail"]
