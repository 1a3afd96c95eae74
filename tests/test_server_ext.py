"""The server extension's REST API through a real Jupyter server (jp_fetch).

Every response is validated against nbrepro/schema/api-1.schema.json, the one
definition the frontend's types are generated from.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import tornado
from deltalake import write_deltalake
from helpers import api_check as check
from helpers import latest_run, run_record, write_notebook

import nbrepro
from nbrepro import paths
from nbrepro.capture.delta import tables

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SLOW_CELL = "import pathlib, time\ntime.sleep(float(pathlib.Path('delay.txt').read_text()))"


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path: Path):
    return {
        "ServerApp": {"jpserver_extensions": {"nbrepro": True}},
        "NbreproServer": {"max_concurrent_reruns": 1, "jobs_dir": str(tmp_path / "jobs")},
    }


@pytest.fixture
def captured(kernel_factory, jp_root_dir: Path, nbrepro_home: Path) -> tuple[str, Path, Path]:
    """A %%repro capture in a kernel, reading a Delta table."""
    table = jp_root_dir / "t"
    write_deltalake(str(table), pd.DataFrame({"x": [1, 2]}))
    nb = write_notebook(jp_root_dir / "a.ipynb", [("l", "%load_ext nbrepro")])
    k = kernel_factory(cwd=jp_root_dir, env={"JPY_SESSION_NAME": str(nb)})
    k.ok("%load_ext nbrepro", "l")
    k.ok(
        f"%%repro --name api\nfrom deltalake import DeltaTable\nDeltaTable({str(table)!r}).to_pandas()"
    )
    return latest_run(paths.default_tracking_uri()).info.run_id, table, nb


@pytest.fixture
def headless_run(jp_root_dir: Path, nbrepro_home: Path) -> tuple[str, Path]:
    """A run captured by `nbrepro run`: a read of a Delta table, then a cell that sleeps
    as long as delay.txt says (0 when captured)."""
    from nbrepro.reproduce.headless import run_notebook

    folder = jp_root_dir / "h"
    folder.mkdir()
    write_deltalake(str(folder / "t"), pd.DataFrame({"x": [1, 2, 3]}))
    (folder / "delay.txt").write_text("0")
    nb = write_notebook(
        folder / "h.ipynb",
        [
            (
                "r",
                f"from deltalake import DeltaTable\nn = len(DeltaTable({str(folder / 't')!r}).to_pandas())",
            ),
            ("s", SLOW_CELL),
            ("p", "print(n)"),
        ],
    )
    # Named: an earlier capture in this process set mlflow's tracking URI to its store.
    return run_notebook(nb, tracking_uri=paths.default_tracking_uri()).run_id, folder


async def call(
    jp_fetch, method: str, *parts: str, body: Any = None, **params: str
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"method": method, "params": params}
    if method in ("POST", "PUT"):
        kwargs["body"] = json.dumps(body if body is not None else {})
    try:
        resp = await jp_fetch("nbrepro", *parts, **kwargs)
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, check(json.loads(exc.response.body), "ErrorBody")
    return resp.code, json.loads(resp.body)


async def get(jp_fetch, *parts: str, **params: str) -> tuple[int, Any]:
    return await call(jp_fetch, "GET", *parts, **params)


async def poll_job(jp_fetch, job_id: str, until, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, job = await get(jp_fetch, "reruns", job_id)
        assert code == 200, job
        check(job, "Job")
        if until(job):
            return job
        await asyncio.sleep(0.3)
    raise AssertionError(f"job never got there: {job}")


async def test_version(jp_fetch) -> None:
    from nbrepro import __version__

    home = os.path.expanduser("~")
    assert await get(jp_fetch, "version") == (
        200,
        check({"version": __version__, "home": home}, "Version"),
    )


ENDPOINTS = [
    ("GET", "version"),
    ("GET", "runs"),
    ("GET", "runs/{run}"),
    ("GET", "runs/{run}/environment"),
    ("GET", "compare?a={run}&b={run}"),
    ("POST", "reruns"),
    ("GET", "reruns"),
    ("GET", "reruns/{job}"),
    ("DELETE", "reruns/{job}"),
    ("POST", "capture"),
    ("POST", "runs/{run}/open"),
]


async def test_every_endpoint_refuses_unauthenticated(jp_fetch, jp_http_port, jp_base_url) -> None:
    client = tornado.httpclient.AsyncHTTPClient()
    for method, path in ENDPOINTS:
        url = f"http://localhost:{jp_http_port}{jp_base_url}nbrepro/" + path.format(
            run="a" * 32, job="b" * 32
        )
        body = "{}" if method == "POST" else None
        resp = await client.fetch(url, method=method, body=body, raise_error=False)
        assert resp.code == 403, (method, path, resp.code)
        assert json.loads(resp.body)["code"] == "forbidden", (method, path, resp.body)


async def test_post_and_delete_need_the_xsrf_token_with_cookie_auth(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url, nbrepro_home: Path
) -> None:
    """A browser is authenticated by its cookie; then POST and DELETE must carry the
    _xsrf token (cookie and header), or a page on another site could make them."""
    client = tornado.httpclient.AsyncHTTPClient()
    base = f"http://localhost:{jp_http_port}{jp_base_url}nbrepro/"
    token = jp_serverapp.identity_provider.token
    # A token in the URL logs the browser in: the server answers with its login cookie.
    login = await client.fetch(f"{base}version?token={token}")
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    assert cookies, "no login cookie set"
    cookie = "; ".join(cookies)
    resp = await client.fetch(f"{base}version", headers={"Cookie": cookie})
    assert resp.code == 200  # the cookie alone authenticates

    unsafe = [("POST", "reruns", "{}"), ("DELETE", "reruns/" + "b" * 32, None)]
    unsafe.append(("POST", "capture", "{}"))
    unsafe.append(("POST", "runs/" + "a" * 32 + "/open", '{"which": "replay"}'))
    for method, path, body in unsafe:
        resp = await client.fetch(
            base + path, method=method, body=body, headers={"Cookie": cookie}, raise_error=False
        )
        assert resp.code == 403, (method, path, resp.code)

    # With the token in the _xsrf cookie and the X-XSRFToken header, the request gets
    # through to the handler, which answers about the request itself.
    xsrf = "0123456789abcdef0123456789abcdef"
    headers = {"Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
    resp = await client.fetch(
        base + "reruns",
        method="POST",
        body='{"run_id": "nope"}',
        headers=headers,
        raise_error=False,
    )
    assert resp.code == 400 and "not an MLflow run id" in json.loads(resp.body)["message"]
    resp = await client.fetch(
        base + "reruns/" + "b" * 32, method="DELETE", headers=headers, raise_error=False
    )
    assert resp.code == 404


async def test_runs_of_a_notebook_paged_and_details_with_drift(
    jp_fetch, captured, monkeypatch
) -> None:
    monkeypatch.setattr(tables, "VERSION_CACHE_SECONDS", 0.0)  # see each append at once
    run_id, table, nb = captured
    code, body = await get(jp_fetch, "runs", notebook=nb.name, max_results="1")
    assert code == 200
    check(body, "RunsPage")
    [row] = body["runs"]
    assert row["run_id"] == run_id
    assert (row["data_changed"], row["changed_tables"], row["tables"]) == (False, [], 1)
    assert row["experiment_id"] == latest_run(paths.default_tracking_uri()).info.experiment_id

    write_deltalake(str(table), pd.DataFrame({"x": [3]}), mode="append")
    code, body = await get(jp_fetch, "runs", notebook=nb.name)
    [row] = check(body, "RunsPage")["runs"]
    assert row["data_changed"] is True and row["changed_tables"] == [str(table)]

    code, details = await get(jp_fetch, "runs", run_id)
    assert code == 200
    check(details, "RunDetails")
    assert details["models"] == []  # none registered from it (the registry was asked)
    assert details["drift"][0]["state"] == "moved"
    assert details["drift"][0]["detail"] == "v0 read, table now at v1"
    assert details["environment"]["packages"] > 10
    code, report = await get(jp_fetch, "compare", a=run_id, b=run_id)
    assert code == 200 and check(report, "Report")["verdict"] == "reproduced"

    # The environment drift against this server's Python (no notebook kernel runs).
    code, env = await get(jp_fetch, "runs", run_id, "environment", notebook=nb.name)
    assert code == 200
    check(env, "EnvironmentDrift")
    assert env["against"] == "server" and env["kernel"] is None
    assert env["python"][0] == env["python"][1]


async def test_bad_requests(jp_fetch, nbrepro_home: Path) -> None:
    cases = [
        ("GET", ("runs", "0" * 32), {}, None, 404, "no run"),
        ("GET", ("runs", "nope"), {}, None, 400, "not an MLflow run id"),
        ("GET", ("runs",), {"max_results": "x"}, None, 400, "whole number"),
        ("GET", ("runs",), {"max_results": "0"}, None, 400, "between 1 and"),
        ("GET", ("runs",), {"page_token": "garbage"}, None, 400, "page_token"),
        # Not ASCII: MLflow failed (500) before it could say the token was wrong.
        ("GET", ("runs",), {"page_token": "\U0001f600"}, None, 400, "page_token"),
        (
            "GET",
            ("runs",),
            {"notebook": "../../etc/passwd"},
            None,
            400,
            "outside the server's root",
        ),
        ("GET", ("runs", "nope", "environment"), {}, None, 400, "not an MLflow run id"),
        ("GET", ("reruns", "nope"), {}, None, 400, "not a rerun job id"),
        ("GET", ("reruns", "f" * 32), {}, None, 404, "no rerun job"),
        ("DELETE", ("reruns", "f" * 32), {}, None, 404, "no rerun job"),
        ("GET", ("reruns",), {"run_id": "nope"}, None, 400, "not an MLflow run id"),
        ("POST", ("reruns",), {}, {"run_id": "0" * 32}, 404, "no run"),
        ("POST", ("reruns",), {}, {"run_id": "0" * 32, "env": "x"}, 400, "env must be"),
        ("POST", ("reruns",), {}, {"run_id": "0" * 32, "tolerance": -1}, 400, "non-negative"),
        ("POST", ("reruns",), {}, {"run_id": "0" * 32, "data": 3}, 400, "data must be a string"),
        ("POST", ("reruns",), {}, [1], 400, "JSON object"),
        ("POST", ("capture",), {}, {}, 400, "notebook is required"),
        ("POST", ("capture",), {}, {"notebook": "../x.ipynb"}, 400, "outside the server's root"),
        ("POST", ("capture",), {}, {"notebook": "a.ipynb", "name": 5}, 400, "name must be a str"),
        ("POST", ("runs", "0" * 32, "open"), {}, {"which": "replay"}, 404, "no run"),
        ("POST", ("runs", "nope", "open"), {}, {"which": "replay"}, 400, "not an MLflow run id"),
        ("POST", ("runs", "0" * 32, "open"), {}, {"which": "html"}, 400, "one of replay, document"),
        ("POST", ("runs", "0" * 32, "open"), {}, {}, 400, "which is required"),
        ("POST", ("runs", "0" * 32, "open"), {}, {"which": 1}, 400, "which must be a str"),
        (
            "POST",
            ("runs", "0" * 32, "open"),
            {},
            {"which": "replay", "path": "x"},
            400,
            "unknown field(s) path",
        ),
    ]
    for method, parts, params, body, status, fragment in cases:
        code, answer = await call(jp_fetch, method, *parts, body=body, **params)
        assert (code, answer["status"]) == (status, status), (parts, body, answer)
        assert fragment in answer["message"], (parts, body, answer)
        # The sidebar tells "no such run" from "no such route" by the code, not the text.
        kind = {"no run": "run-not-found", "no rerun job": "job-not-found"}.get(fragment)
        assert answer["code"] == (kind or "bad-request"), (parts, body, answer)
    resp = await jp_fetch("nbrepro", "reruns", method="POST", body="{not json", raise_error=False)
    assert resp.code == 400 and "not valid JSON" in json.loads(resp.body)["message"]


async def test_a_silent_tracking_server_does_not_stall_the_jupyter_server(
    jp_fetch, nbrepro_home: Path
) -> None:
    """The store's health probe waits seconds for an answer: other requests go on meanwhile."""
    import socket

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        runs = asyncio.ensure_future(get(jp_fetch, "runs", tracking_uri=uri))
        await asyncio.sleep(0.3)  # the probe has started
        assert (await get(jp_fetch, "version"))[0] == 200
        assert time.monotonic() - started < 2.0  # the probe gives up after 3 s
        code, answer = await runs
        assert code == 503, answer


async def test_open_writes_the_replay_and_the_document_under_the_root(
    jp_fetch, captured, jp_root_dir: Path
) -> None:
    from nbrepro.store.runs import load_run

    run_id, _, nb = captured
    code, result = await call(jp_fetch, "POST", "runs", run_id, "open", body={"which": "replay"})
    assert code == 200, result
    check(result, "OpenResult")
    assert result["path"] == f"nbrepro-runs/api-{run_id[:8]}.replay.ipynb"
    assert (result["run_id"], result["which"], result["run_name"]) == (run_id, "replay", "api")
    assert result["captured_at"]
    written = nbformat.read(jp_root_dir / result["path"], as_version=4)
    replay = load_run(run_id, paths.default_tracking_uri()).replay()
    assert [c.source for c in written.cells] == [c.source for c in replay.cells]
    assert written.metadata["nbrepro"]["run_id"] == run_id
    assert written.metadata["nbrepro"]["which"] == "replay"

    # Opening again rewrites the same file (an edit of the copy is replaced).
    (jp_root_dir / result["path"]).write_text("{}")
    code, again = await call(jp_fetch, "POST", "runs", run_id, "open", body={"which": "replay"})
    assert (code, again) == (200, result)
    assert nbformat.read(jp_root_dir / result["path"], as_version=4).cells == written.cells
    assert sorted(p.name for p in (jp_root_dir / "nbrepro-runs").iterdir()) == [
        f"api-{run_id[:8]}.replay.ipynb"
    ]

    code, doc = await call(jp_fetch, "POST", "runs", run_id, "open", body={"which": "document"})
    assert code == 200, doc
    assert check(doc, "OpenResult")["path"] == f"nbrepro-runs/api-{run_id[:8]}.document.ipynb"
    document = nbformat.read(jp_root_dir / doc["path"], as_version=4)
    assert [c.source for c in document.cells] == [
        c.source for c in nbformat.read(nb, as_version=4).cells
    ]
    context = document.metadata["nbrepro"]
    assert (context["run_id"], context["which"]) == (run_id, "document")
    assert context["saved_at"] == doc["saved_at"] and doc["saved_at"]


async def test_a_rerun_job_runs_to_its_verdict(jp_fetch, headless_run) -> None:
    run_id, _ = headless_run
    code, job = await call(jp_fetch, "POST", "reruns", body={"run_id": run_id})
    assert code == 202
    assert check(job, "Job")["state"] in ("queued", "running")
    done = await poll_job(
        jp_fetch, job["job_id"], lambda j: j["state"] not in ("queued", "running")
    )
    assert done["state"] == "succeeded", done
    assert (done["verdict"], done["exit_code"], done["error"]) == ("reproduced", 0, None)
    progress = done["progress"]
    assert progress["phase"] == "done"
    assert progress["cells_done"] == progress["cells_total"] == 3
    assert done["report"]["verdict"] == "reproduced"
    assert done["report"]["run_id"] == done["rerun_run_id"]

    code, jobs = await get(jp_fetch, "reruns", run_id=run_id)
    assert [j["job_id"] for j in check(jobs, "JobsList")["jobs"]] == [job["job_id"]]
    code, page = await get(jp_fetch, "runs")
    rows = {r["run_id"]: r for r in check(page, "RunsPage")["runs"]}
    assert rows[run_id]["verdict"] == "reproduced"
    assert rows[done["rerun_run_id"]]["reproduces"] == run_id


async def test_queue_bound_and_cancel_through_the_api(
    jp_fetch, headless_run, tmp_path: Path
) -> None:
    run_id, folder = headless_run
    (folder / "delay.txt").write_text("300")
    _, first = await call(jp_fetch, "POST", "reruns", body={"run_id": run_id})
    _, second = await call(jp_fetch, "POST", "reruns", body={"run_id": run_id, "data": "latest"})
    assert check(second, "Job")["state"] == "queued"  # max_concurrent_reruns is 1 here
    await poll_job(jp_fetch, first["job_id"], lambda j: j["progress"]["cells_done"] >= 1)
    code, body = await get(jp_fetch, "reruns", second["job_id"])
    assert body["state"] == "queued" and body["progress"]["phase"] == "queued"

    state = json.loads((tmp_path / "jobs" / first["job_id"] / "job.json").read_text())
    pgid = state["process"]["pid"]
    code, cancelled = await call(jp_fetch, "DELETE", "reruns", first["job_id"])
    assert code == 200 and check(cancelled, "Job")["state"] == "cancelled"
    await poll_job(jp_fetch, first["job_id"], lambda j: j["exit_code"] is not None, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the rerun's process group outlived the cancel")

    # The slot freed: the queued one starts; cancel it as well.
    await poll_job(jp_fetch, second["job_id"], lambda j: j["state"] == "running", timeout=30)
    code, body = await call(jp_fetch, "DELETE", "reruns", second["job_id"])
    assert body["state"] == "cancelled"
    await poll_job(jp_fetch, second["job_id"], lambda j: j["exit_code"] is not None, timeout=60)
    code, again = await call(jp_fetch, "DELETE", "reruns", second["job_id"])
    assert code == 200 and again["state"] == "cancelled"  # a finished job stays as it is


async def test_capture_of_a_running_kernel_and_its_environment(
    jp_fetch, jp_serverapp, jp_root_dir: Path, nbrepro_home: Path
) -> None:
    write_notebook(jp_root_dir / "k.ipynb", [("c1", "x = 41 + 1\nprint(x)")])
    code, body = await call(jp_fetch, "POST", "capture", body={"notebook": "k.ipynb"})
    assert code == 409 and "no running kernel" in body["message"]
    assert body["code"] == "kernel-not-running"

    resp = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps(
            {
                "path": "k.ipynb",
                "name": "k.ipynb",
                "type": "notebook",
                "kernel": {"name": "python3"},
            }
        ),
    )
    session = json.loads(resp.body)
    manager = jp_serverapp.kernel_manager.get_kernel(session["kernel"]["id"])
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive("x = 41 + 1\nprint(x)", timeout=60)
        assert reply["content"]["status"] == "ok"
        # A kernel busy with a cell: refused at once rather than queued behind it.
        client.execute("import time; time.sleep(3)", store_history=False)
        deadline = time.monotonic() + 10
        while manager.execution_state != "busy" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        code, busy = await call(jp_fetch, "POST", "capture", body={"notebook": "k.ipynb"})
        assert code == 409 and "busy" in busy["message"]
        assert busy["code"] == "kernel-busy"
        while manager.execution_state != "idle" and time.monotonic() < deadline + 10:
            await asyncio.sleep(0.1)
    finally:
        client.stop_channels()

    code, result = await call(
        jp_fetch,
        "POST",
        "capture",
        body={"notebook": "k.ipynb", "experiment": "side", "name": "s1"},
    )
    assert code == 200, result
    check(result, "CaptureResult")
    assert (result["run_name"], result["experiment_name"], result["cells"]) == ("s1", "side", 1)
    assert "not loaded in this kernel" in result["warning"]
    rec = run_record(paths.default_tracking_uri(), result["run_id"])
    assert rec["mode"] == "sidebar"
    assert [c["source"] for c in rec["code"]["cells"]] == ["x = 41 + 1\nprint(x)"]
    # nbrepro was not loaded when the cell ran: its outcome is unknown, not "no error".
    assert rec["code"]["cells"][0]["error_known"] is False
    assert rec["code"]["document"]["path"] == str(jp_root_dir / "k.ipynb")

    code, env = await get(jp_fetch, "runs", result["run_id"], "environment", notebook="k.ipynb")
    assert code == 200, env
    check(env, "EnvironmentDrift")
    assert (env["against"], env["kernel"], env["same"]) == ("kernel", "python3", True)

    # A kernel with another nbrepro than the server's: an older one has the function
    # where nbrepro had it before its subpackages; with none, the error says what to do.
    async def in_kernel(code: str) -> None:
        client = manager.client()
        client.start_channels()
        try:
            reply = await client.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            client.stop_channels()

    await in_kernel(
        "import sys, types, nbrepro.capture.environment as e\n"
        "old = types.ModuleType('nbrepro.environment')\n"
        "old.capture_environment = e.capture_environment\n"
        "sys.modules['nbrepro.environment'] = old\n"
        "sys.modules['nbrepro.capture.environment'] = None  # not in this nbrepro"
    )
    code, env = await get(jp_fetch, "runs", result["run_id"], "environment", notebook="k.ipynb")
    assert code == 200, env
    assert (env["against"], env["same"]) == ("kernel", True)
    await in_kernel("import sys\nsys.modules['nbrepro.environment'] = None")
    code, env = await get(jp_fetch, "runs", result["run_id"], "environment", notebook="k.ipynb")
    assert (code, env["code"]) == (500, "kernel-call-failed"), env
    assert "ModuleNotFoundError" in env["message"]
    assert f"install nbrepro {nbrepro.__version__}" in env["message"], env
    await jp_fetch("api", "sessions", session["id"], method="DELETE")


async def test_the_tracking_uri_header_names_another_store(jp_fetch, captured, tmp_path) -> None:
    # The sidebar's override travels as a header, so credentials stay out of request logs.
    from mlflow import MlflowClient

    run_id, _table, nb = captured
    other = f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}"
    # A store a request names must exist (naming one never creates it).
    code, body = await get(jp_fetch, "runs", tracking_uri=other)
    assert (code, body["code"]) == (400, "tracking-uri-refused"), body
    (tmp_path / "other").mkdir()
    MlflowClient(tracking_uri=other).search_experiments()
    resp = await jp_fetch(
        "nbrepro", "runs", params={"notebook": nb.name}, headers={"X-Nbrepro-Tracking-Uri": other}
    )
    assert check(json.loads(resp.body), "RunsPage")["runs"] == []
    code, body = await get(jp_fetch, "runs", notebook=nb.name)
    assert code == 200 and [r["run_id"] for r in body["runs"]] == [run_id]


class TestRootUnderHome:
    """`jupyter lab` started in a project folder under the home folder: jupyter_server
    then keeps its root as "~/..." (``server_root_dir``), which is no path to resolve."""

    @pytest.fixture
    def jp_root_dir(self, jp_home_dir: Path) -> Path:
        root = jp_home_dir / "projects" / "wine"
        root.mkdir(parents=True)
        return root

    async def test_a_notebooks_runs_and_its_copy(self, jp_fetch, jp_serverapp, captured) -> None:
        assert jp_serverapp.web_app.settings["server_root_dir"] == "~/projects/wine"
        run_id, _table, nb = captured
        code, body = await get(jp_fetch, "runs", notebook=nb.name)
        assert code == 200 and [r["run_id"] for r in body["runs"]] == [run_id]
        # The copy opens at a path under the root, not outside it.
        code, opened = await call(
            jp_fetch, "POST", "runs", run_id, "open", body={"which": "replay"}
        )
        assert code == 200, opened
        assert not opened["path"].startswith(("/", "..", "~")), opened["path"]
        assert (Path(jp_serverapp.root_dir) / opened["path"]).is_file()
